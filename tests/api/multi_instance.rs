//! Two instances on one database act as one (docs/requirements.md R-OPS-3;
//! docs/security.md R3–R6).

use tokio::task::JoinSet;

use crate::helpers::*;

#[tokio::test]
async fn code_issued_by_one_instance_is_redeemed_by_the_other_exactly_once() {
    let a = spawn_app().await;
    let b = spawn_on(a.db.clone(), |_| {}).await;
    let client = a.add_client(|_| {});
    let person = a.add_person("雙");
    let (verifier, challenge) = pkce();
    let url = a
        .sign_in(&auth_params(&client, &challenge, &[]), &person.id)
        .await;
    let code = query_param(&url, "code").unwrap();
    let first = b.redeem(&client, &code, &verifier).await;
    assert_eq!(first.status(), 200, "redeemed on the other instance");
    let body: serde_json::Value = first.json().await.unwrap();
    let again = a.redeem(&client, &code, &verifier).await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        b.introspect(&client, body["access_token"].as_str().unwrap())
            .await["active"],
        false,
        "B's tokens are revoked"
    );
}

#[tokio::test]
async fn concurrent_redemptions_across_instances_succeed_exactly_once() {
    let a = spawn_app().await;
    let b = spawn_on(a.db.clone(), |_| {}).await;
    let client = a.add_client(|_| {});
    let person = a.add_person("並");
    for round in 0..3 {
        let (verifier, challenge) = pkce();
        let url = a
            .sign_in(&auth_params(&client, &challenge, &[]), &person.id)
            .await;
        let code = query_param(&url, "code").unwrap();
        let mut set = JoinSet::new();
        for i in 0..32 {
            let target = if i % 2 == 0 {
                a.url("/token")
            } else {
                b.url("/token")
            };
            let http = a.api.clone();
            let (c, v, code) = (client.clone(), verifier.clone(), code.clone());
            set.spawn(async move {
                http.post(target)
                    .basic_auth(&c.client_id, c.secret.as_deref())
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", c.redirect_uri.as_str()),
                        ("code_verifier", v.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            });
        }
        let statuses: Vec<u16> = set.join_all().await;
        let ok = statuses.iter().filter(|s| **s == 200).count();
        let refused = statuses.iter().filter(|s| **s == 400).count();
        assert_eq!(
            (ok, refused),
            (1, 31),
            "round {round}: exactly one redemption wins, no 5xx: {statuses:?}"
        );
    }
}

#[tokio::test]
async fn concurrent_refreshes_rotate_exactly_once() {
    let a = spawn_app().await;
    let b = spawn_on(a.db.clone(), |_| {}).await;
    let client = a.add_client(|_| {});
    let person = a.add_person("輪");
    let (verifier, challenge) = pkce();
    let url = a
        .sign_in(
            &auth_params(&client, &challenge, &[("scope", "openid offline_access")]),
            &person.id,
        )
        .await;
    let tokens: serde_json::Value = a
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    let mut set = JoinSet::new();
    for i in 0..32 {
        let target = if i % 2 == 0 {
            a.url("/token")
        } else {
            b.url("/token")
        };
        let http = a.api.clone();
        let (c, rt) = (client.clone(), rt.clone());
        set.spawn(async move {
            http.post(target)
                .basic_auth(&c.client_id, c.secret.as_deref())
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses: Vec<u16> = set.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        31,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn replay_state_survives_a_restart() {
    let a = spawn_app().await;
    let client = a.add_client(|_| {});
    let person = a.add_person("續");
    let (verifier, challenge) = pkce();
    let url = a
        .sign_in(&auth_params(&client, &challenge, &[]), &person.id)
        .await;
    let code = query_param(&url, "code").unwrap();
    assert_eq!(a.redeem(&client, &code, &verifier).await.status(), 200);
    let db = a.db.clone();
    drop(a);
    let restarted = spawn_on(db, |_| {}).await;
    assert_eq!(
        restarted.redeem(&client, &code, &verifier).await.status(),
        400,
        "a used code stays used after a restart"
    );
}

#[tokio::test]
async fn sso_session_is_shared_between_instances() {
    let a = spawn_app().await;
    let b = spawn_on(a.db.clone(), |_| {}).await;
    let client = a.add_client(|_| {});
    let person = a.add_person("共");
    let (_, challenge) = pkce();
    a.sign_in(&auth_params(&client, &challenge, &[]), &person.id)
        .await;
    // Same browser, same cookies (host 127.0.0.1 for both ports): B knows the session.
    let resp = a
        .browser
        .get(b.url("/authorize"))
        .query(&auth_params(&client, &challenge, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    let url = url::Url::parse(&location(&resp)).unwrap();
    assert!(query_param(&url, "code").is_some(), "{url}");
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_starting_at_once_on_a_new_database_take_turns_migrating() {
    let db = TestDb::new();
    let (a, b, c) = tokio::join!(
        spawn_on(db.clone(), |_| {}),
        spawn_on(db.clone(), |_| {}),
        spawn_on(db.clone(), |_| {})
    );
    for app in [&a, &b, &c] {
        let ready: serde_json::Value = app
            .api
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["status"], "ready");
    }
    // Every migration applied exactly once.
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::{Connection, RunQueryDsl};
    let sql = "SELECT COUNT(*) AS n FROM __diesel_schema_migrations";
    let applied: Vec<N> = match &db {
        TestDb::Sqlite(_) => diesel::sql_query(sql)
            .load(&mut diesel::SqliteConnection::establish(&db.url()).unwrap())
            .unwrap(),
        TestDb::Postgres(url) => diesel::sql_query(sql)
            .load(&mut diesel::PgConnection::establish(url).unwrap())
            .unwrap(),
    };
    let migrations = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite"),
    )
    .unwrap()
    .count() as i64;
    assert_eq!(applied[0].n, migrations);
    // And they work as one: a client made on one is known to the others.
    let client = a.add_client(|_| {});
    let r = c
        .api
        .post(c.url("/token"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
