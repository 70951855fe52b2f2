//! R1 (docs/security.md §6): `kill -9` of the server at random moments while people apply,
//! many rounds, then the database holds no half-written registration, mail or link token.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use rand::Rng;
use serde_json::json;

use crate::card::{sign_token, Issuers};
use crate::helpers::*;

const ROUNDS: usize = 25;
const PER_ROUND: usize = 4;

/// National IDs with valid check digits: letter A, sex digit 1, a running number.
fn national_id(n: usize) -> String {
    const ORDER: &str = "ABCDEFGHJKLMNPQRSTUVXYWZIO";
    let body = format!("1{:07}", n);
    let lv = ORDER.find('A').unwrap() as u32 + 10;
    let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let w = [8u32, 7, 6, 5, 4, 3, 2, 1];
    let sum = lv / 10 + (lv % 10) * 9 + digits.iter().zip(w).map(|(d, w)| d * w).sum::<u32>();
    format!("A{body}{}", (10 - sum % 10) % 10)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(db: &TestDb, dir: &std::path::Path, port: u16, issuers: &Issuers) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .arg("serve")
        .env_clear()
        .env("CARDINAL_DATABASE_URL", db.url())
        .env("CARDINAL_DATA_DIR", dir)
        .env("CARDINAL_LISTEN", format!("127.0.0.1:{port}"))
        .env("CARDINAL_ISSUER", format!("http://127.0.0.1:{port}"))
        .env("CARDINAL_KEYS__SECRET_KEY", SECRET_KEY)
        .env("CARDINAL_MAIL_OUTBOX", dir.join("outbox"))
        .env(
            "CARDINAL_CARD__NHI_CA_FILES",
            format!("[\"{}\"]", issuers.ca("nhi").join("ca.pem").display()),
        )
        .env(
            "CARDINAL_CARD__CRL_FILES",
            format!("[\"{}\"]", issuers.ca("nhi").join("crl.pem").display()),
        )
        .env("CARDINAL_PASSWORD__ARGON2_MEMORY_KIB", "1024")
        .env("CARDINAL_PASSWORD__ARGON2_ITERATIONS", "1")
        .env("CARDINAL_LIMITS__CARD_PER_IP_PER_MINUTE", "100000")
        .env("CARDINAL_LIMITS__FORMS_PER_IP_PER_MINUTE", "100000")
        .env("CARDINAL_METRICS__LISTEN", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server(child)
}

async fn ready(port: u16) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "server did not become ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One person's whole application; errors (the server was killed) end it early.
async fn apply(base: String, card: serde_json::Value) -> Option<()> {
    let http = reqwest::Client::builder().cookie_store(true).build().ok()?;
    let page = http
        .get(format!("{base}/register/apply"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let csrf = hidden_value(&page, "csrf_token")?;
    let c: serde_json::Value = http
        .post(format!("{base}/card/challenge"))
        .header("origin", &base)
        .json(&json!({ "purpose": "apply", "flow": "" }))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let challenge = c["challenge"].as_str()?.to_string();
    let token = serde_json::to_string(&sign_token(&card, &base, &challenge)).ok()?;
    let page2 = http
        .post(format!("{base}/register/apply"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("challenge", challenge.as_str()),
            ("token", token.as_str()),
            ("household_no", "F1234567"),
            ("county", "臺北市"),
            ("township", "中正區"),
            ("village", "黎明里"),
            ("neighborhood", "5"),
        ])
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let proof = hidden_value(&page2, "proof")?;
    let csrf2 = hidden_value(&page2, "csrf_token")?;
    http.post(format!("{base}/register/apply/submit"))
        .form(&[
            ("csrf_token", csrf2.as_str()),
            ("proof", proof.as_str()),
            ("password", "Tq7~vLm9"),
            ("password_confirm", "Tq7~vLm9"),
            ("mobile", "0912345678"),
            ("email", "crash@example.gov.tw"),
        ])
        .send()
        .await
        .ok()?;
    Some(())
}

fn count(db: &TestDb, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let rows: Vec<N> = match db {
        TestDb::Sqlite(_) => {
            let mut c = diesel::SqliteConnection::establish(&db.url()).unwrap();
            diesel::sql_query(sql).load(&mut c).unwrap()
        }
        TestDb::Postgres(url) => {
            let mut c = diesel::PgConnection::establish(url).unwrap();
            diesel::sql_query(sql).load(&mut c).unwrap()
        }
    };
    rows.first().map(|r| r.n).unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_server_mid_application_leaves_no_half_written_record() {
    let issuers = Issuers::new();
    let total = ROUNDS * PER_ROUND;
    let mut csv = String::from("national_id,household_no,county,township,village,neighborhood\n");
    let mut cards = Vec::new();
    for i in 0..total {
        let id = national_id(i + 1);
        csv.push_str(&format!("{id},F1234567,臺北市,中正區,黎明里,5\n"));
        let args = cardinal::card::issue::CardIssue {
            ca: issuers.ca("nhi"),
            kind: "nhi".into(),
            card_number: format!("{:012}", 500_000 + i),
            name: "測試人".into(),
            national_id: id,
            birth_date: "1980-01-02".into(),
            sex: "F".into(),
            pin: None,
            valid_days: 30,
            out: issuers.dir.path().join(format!("crash-{i}.json")),
        };
        #[allow(clippy::disallowed_methods)]
        cardinal::card::issue::issue_card_file(&args, time::OffsetDateTime::now_utc()).unwrap();
        cards.push(
            serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&args.out).unwrap())
                .unwrap(),
        );
    }
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry.csv");
    std::fs::write(&registry, csv).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["registry", "import", registry.to_str().unwrap()])
        .env_clear()
        .env("CARDINAL_DATABASE_URL", db.url())
        .env("CARDINAL_DATA_DIR", dir.path())
        .env("CARDINAL_KEYS__SECRET_KEY", SECRET_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut rng = rand::thread_rng();
    let mut killed_mid_flight = 0;
    for round in 0..ROUNDS {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = serve(&db, dir.path(), port, &issuers);
        ready(port).await;
        let base = format!("http://127.0.0.1:{port}");
        let tasks: Vec<_> = cards[round * PER_ROUND..(round + 1) * PER_ROUND]
            .iter()
            .cloned()
            .map(|card| tokio::spawn(apply(base.clone(), card)))
            .collect();
        // Early rounds cut most applications off; later ones leave them longer, so that some
        // complete however slow the machine is today.
        let longest = 1200 + 250 * u64::try_from(round).unwrap();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..longest))).await;
        // SIGKILL: no shutdown, no cleanup.
        let _ = server.0.kill();
        let _ = server.0.wait();
        for t in tasks {
            if t.await.ok().flatten().is_none() {
                killed_mid_flight += 1;
            }
        }
    }
    println!("{ROUNDS} rounds, {killed_mid_flight} of {total} applications cut off by kill -9");
    assert!(
        killed_mid_flight > 0,
        "the kills must interrupt some applications for the test to mean anything"
    );

    let registrations = count(&db, "SELECT COUNT(*) AS n FROM registrations");
    println!("{registrations} applications were completed");
    assert!(
        registrations > 0,
        "some applications must complete for the invariants to be tested"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM registrations r WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = r.person_id)"), 0);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM registrations r WHERE NOT EXISTS (SELECT 1 FROM person_cards c WHERE c.person_id = r.person_id)"), 0, "registration without a card");
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM registrations r WHERE NOT EXISTS (SELECT 1 FROM mail_tokens t WHERE t.person_id = r.person_id)"), 0, "registration without its link");
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM mail_tokens t WHERE NOT EXISTS (SELECT 1 FROM registrations r WHERE r.person_id = t.person_id)"), 0, "link without a registration");
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM persons p WHERE NOT EXISTS (SELECT 1 FROM registrations r WHERE r.person_id = p.id)"), 0, "person without a registration");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE purpose = 'confirm'"
        ),
        registrations,
        "exactly one 認證通知信 per registration"
    );
    if !matches!(db, TestDb::Postgres(_)) {
        let mut c = diesel::SqliteConnection::establish(&db.url()).unwrap();
        #[derive(diesel::QueryableByName)]
        struct Check {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }
        let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
            .load(&mut c)
            .unwrap();
        assert_eq!(rows.first().map(|r| r.integrity_check.as_str()), Some("ok"));
    }
}
