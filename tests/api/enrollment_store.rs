//! The enrollment data layer on both backends: registry import, an application written all
//! or nothing, the global lockout counter (docs/security.md R9), single-use mail tokens
//! (R5), rate limits.

use std::sync::Arc;

use cardinal::domain::NationalId;
use cardinal::mail::{outbox_message, MailContent};
use cardinal::registry;
use cardinal::store::*;

use crate::helpers::*;

fn application(app: &TestApp, national_id: &str, card: &str, token_hash: &str) -> NewApplication {
    let now = app.engine.now();
    let ring = app.engine.ring();
    let id = NationalId::parse(national_id).unwrap();
    let person_id = uuid::Uuid::new_v4().to_string();
    let mail = MailContent {
        to: "a@example.gov.tw".into(),
        subject: "認證通知信".into(),
        text: "t".into(),
        html: "h".into(),
    };
    NewApplication {
        person: Person {
            id: person_id.clone(),
            name: "王小明".into(),
            email: Some("a@example.gov.tw".into()),
            email_verified: false,
            phone_number: Some("0912345678".into()),
            created_at: now,
            updated_at: now,
        },
        national_id_hash: registry::national_id_hash(ring, &id),
        national_id_sealed: ring
            .seal("persons.national_id", id.expose().as_bytes())
            .unwrap(),
        birth_date: "1980-01-02".into(),
        card_number: card.into(),
        card_kind: "nhi".into(),
        registration: Registration {
            person_id: person_id.clone(),
            status: RegistrationStatus::Pending,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            failed_attempts: 0,
            phone_area: None,
            phone_number: None,
            phone_ext: None,
            mobile: Some("0912345678".into()),
            email_backup: None,
            created_at: now,
            confirmed_at: None,
            locked_at: None,
            deactivated_at: None,
            deactivation_reason: None,
            password_changed_at: now,
            updated_at: now,
        },
        token: MailTokenRecord {
            token_hash: token_hash.into(),
            person_id,
            purpose: MailTokenPurpose::Confirm,
            new_email: None,
            created_at: now,
            expires_at: now + 5 * 24 * 3600,
            consumed_at: None,
        },
        mail: outbox_message(ring, &mail, "confirm", now).unwrap(),
        audit: AuditEvent {
            at: now,
            event: "apply".into(),
            outcome: "pending".into(),
            actor: None,
            person_id: None,
            client_id: None,
            ip: None,
            detail: None,
        },
    }
}

#[tokio::test]
async fn registry_import_feeds_the_place_choices() {
    let app = spawn_app().await;
    let engine = app.engine.clone();
    let n = tokio::task::spawn_blocking(move || {
        registry::import(
            engine.store(),
            engine.ring(),
            include_str!("../../examples/demo/residents.csv").as_bytes(),
            engine.now(),
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(n, 6);
    let store = app.engine.store();
    let id = NationalId::parse("A123456789").unwrap();
    let r = store
        .find_resident(&registry::national_id_hash(app.engine.ring(), &id))
        .unwrap()
        .unwrap();
    assert_eq!(r.household_no, "F1234567");
}

#[tokio::test]
async fn an_application_is_written_all_or_nothing() {
    let app = spawn_app().await;
    let store = app.engine.store();
    let a = application(&app, "A123456789", "000012345678", "tok-1");
    store.apply(&a).unwrap();
    let (person, reg) = store.find_by_card("000012345678").unwrap().unwrap();
    assert_eq!(person.name, "王小明");
    assert_eq!(reg.unwrap().status, RegistrationStatus::Pending);
    assert_eq!(store.pending_mail_count().unwrap(), 1);
    let sealed = store.sealed_national_id(&person.id).unwrap().unwrap();
    assert_eq!(
        app.engine
            .ring()
            .open("persons.national_id", &sealed)
            .unwrap(),
        b"A123456789"
    );

    // A second application for the same person fails and writes nothing (no second mail).
    let again = application(&app, "A123456789", "000012345678", "tok-2");
    assert!(matches!(store.apply(&again), Err(StoreError::Duplicate)));
    assert_eq!(store.pending_mail_count().unwrap(), 1);
    assert!(store
        .consume_mail_token("tok-2", MailTokenPurpose::Confirm, app.engine.now())
        .unwrap()
        .is_none());

    // Someone else's card number cannot be attached to another person.
    let thief = application(&app, "F222333444", "000012345678", "tok-3");
    assert!(store.apply(&thief).is_err());
    let id = NationalId::parse("F222333444").unwrap();
    assert!(
        store
            .find_by_national_id(&registry::national_id_hash(app.engine.ring(), &id))
            .unwrap()
            .is_none(),
        "no half-written person"
    );
}

#[tokio::test]
async fn confirmation_activates_once_and_delete_purges_pending() {
    let app = spawn_app().await;
    let store = app.engine.store();
    let now = app.engine.now();
    let audit = AuditEvent {
        at: now,
        event: "confirm".into(),
        outcome: "success".into(),
        actor: None,
        person_id: None,
        client_id: None,
        ip: None,
        detail: None,
    };
    store
        .apply(&application(&app, "A123456789", "000012345678", "tok-c"))
        .unwrap();
    let person_id = store
        .confirm_registration("tok-c", now, &audit)
        .unwrap()
        .expect("activated");
    assert!(
        store
            .confirm_registration("tok-c", now, &audit)
            .unwrap()
            .is_none(),
        "single use"
    );
    assert_eq!(
        store.find_registration(&person_id).unwrap().unwrap().status,
        RegistrationStatus::Active
    );
    assert!(
        store
            .find_person(&person_id)
            .unwrap()
            .unwrap()
            .email_verified
    );
    assert!(
        !store.delete_pending(&person_id, &audit).unwrap(),
        "an active registration is not deleted"
    );

    store
        .apply(&application(&app, "F222333444", "000011112222", "tok-d"))
        .unwrap();
    let (p, _) = store.find_by_card("000011112222").unwrap().unwrap();
    assert!(store.delete_pending(&p.id, &audit).unwrap());
    assert!(
        store.find_by_card("000011112222").unwrap().is_none(),
        "purged"
    );
}

#[tokio::test]
async fn lockout_counter_is_exact_under_parallel_failures_on_two_instances() {
    let a = spawn_app().await;
    let b = spawn_on(a.db.clone(), |_| {}).await;
    let now = a.engine.now();
    let audit = AuditEvent {
        at: now,
        event: "confirm".into(),
        outcome: "success".into(),
        actor: None,
        person_id: None,
        client_id: None,
        ip: None,
        detail: None,
    };
    a.engine
        .store()
        .apply(&application(&a, "A123456789", "000012345678", "tok-l"))
        .unwrap();
    let person_id = a
        .engine
        .store()
        .confirm_registration("tok-l", now, &audit)
        .unwrap()
        .unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..50 {
        let engine = if i % 2 == 0 {
            a.engine.clone()
        } else {
            b.engine.clone()
        };
        let pid = person_id.clone();
        set.spawn_blocking(move || {
            engine
                .store()
                .record_failed_login(&pid, 5, engine.now())
                .unwrap()
        });
    }
    let results = set.join_all().await;
    let counted: Vec<i32> = results
        .iter()
        .flatten()
        .map(|r| r.failed_attempts)
        .collect();
    let mut sorted = counted.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![1, 2, 3, 4, 5],
        "exactly 5 failures counted, then the registration is locked"
    );
    assert_eq!(results.iter().flatten().filter(|r| r.locked_now).count(), 1);
    let reg = b
        .engine
        .store()
        .find_registration(&person_id)
        .unwrap()
        .unwrap();
    assert_eq!(
        (reg.status, reg.failed_attempts),
        (RegistrationStatus::Locked, 5)
    );
}

#[tokio::test]
async fn a_mail_token_is_consumed_exactly_once_under_concurrency() {
    let app = spawn_app().await;
    app.engine
        .store()
        .apply(&application(&app, "A123456789", "000012345678", "tok-race"))
        .unwrap();
    let engine = Arc::new(app.engine.clone());
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let e = engine.clone();
        set.spawn_blocking(move || {
            e.store()
                .consume_mail_token("tok-race", MailTokenPurpose::Confirm, e.now())
                .unwrap()
                .is_some()
        });
    }
    let wins = set.join_all().await.into_iter().filter(|w| *w).count();
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn rate_limit_buckets_count_exactly_and_reset_per_window() {
    let a = spawn_app().await;
    let b = spawn_on(a.db.clone(), |_| {}).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40 {
        let e = if i % 2 == 0 {
            a.engine.clone()
        } else {
            b.engine.clone()
        };
        set.spawn_blocking(move || e.store().hit("login:ip:127.0.0.1", 60, e.now()).unwrap());
    }
    let mut counts = set.join_all().await;
    counts.sort();
    assert_eq!(
        counts,
        (1..=40).collect::<Vec<_>>(),
        "every hit counted once"
    );
    a.clock.advance(61);
    let e = a.engine.clone();
    assert_eq!(
        tokio::task::spawn_blocking(move || e
            .store()
            .hit("login:ip:127.0.0.1", 60, e.now())
            .unwrap())
        .await
        .unwrap(),
        1
    );
}

#[test]
fn registry_import_cli_refuses_a_bad_file_and_writes_nothing() {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("bad.csv");
    std::fs::write(&file, "national_id,household_no,county,township,village,neighborhood\nA123456789,F1234567,臺北市,中正區,黎明里,5\nA123456788,F1,臺北市,中正區,黎明里,5\n").unwrap();
    let run = |path: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cardinal"))
            .args(["registry", "import", path.to_str().unwrap()])
            .env_clear()
            .env("CARDINAL_DATABASE_URL", db.url())
            .env("CARDINAL_DATA_DIR", data.path())
            .env("CARDINAL_KEYS__SECRET_KEY", SECRET_KEY)
            .output()
            .unwrap()
    };
    let out = run(&file);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3"));
    let good = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo/residents.csv");
    let out = run(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 6 residents"));
}
