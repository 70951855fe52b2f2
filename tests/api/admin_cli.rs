//! `cardinal admin …`, `cardinal registration …`, `cardinal audit list`: the console's
//! operations on the command line, against the database of a running Cardinal.

use std::process::Command;

use serde_json::{json, Value};

use crate::card_login::register;
use crate::helpers::*;

/// A valid national ID made from `seed` (the check digit computed).
pub fn national_id(seed: u32) -> String {
    (0..10)
        .map(|d| format!("A1{:07}{d}", seed % 10_000_000))
        .find(|id| cardinal::domain::NationalId::parse(id).is_ok())
        .unwrap()
}

/// Registers a person with card `card_number` (active unless `pending`); returns the id.
pub fn resident(app: &TestApp, seed: u32, card_number: &str, name: &str, pending: bool) -> String {
    let card = json!({
        "national_id": national_id(seed),
        "name": name,
        "birth_date": "1980-01-02",
        "card_number": card_number,
    });
    register(app, &card, pending)
}

fn cardinal(db: &TestDb, data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cardinal"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("USER", "clerk")
        .env("CARDINAL_DATABASE_URL", db.url())
        .env("CARDINAL_DATA_DIR", data)
        .env("CARDINAL_KEYS__SECRET_KEY", SECRET_KEY)
        .current_dir(data);
    c
}

/// Runs the command; (success, stdout, stderr).
fn run(app: &TestApp, data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = cardinal(&app.db, data).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(app: &TestApp, data: &std::path::Path, args: &[&str]) -> String {
    let (success, out, err) = run(app, data, args);
    assert!(success, "{args:?} failed: {err}");
    out
}

fn ok_json(app: &TestApp, data: &std::path::Path, args: &[&str]) -> Value {
    let out = ok(app, data, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn refused(app: &TestApp, data: &std::path::Path, args: &[&str], hint: &str) {
    let (success, out, err) = run(app, data, args);
    assert!(!success, "{args:?} should fail: {out}");
    assert!(err.contains(hint), "{args:?}: expected {hint:?} in: {err}");
}

#[tokio::test]
async fn admin_grant_revoke_and_list_name_people_by_card_or_national_id() {
    let app = spawn_app().await;
    let data = tempfile::tempdir().unwrap();
    let p = data.path();
    let alice = resident(&app, 1, "000011110001", "林雅婷", false);
    resident(&app, 2, "000011110002", "陳志明", false);

    assert!(ok(&app, p, &["admin", "grant", "000011110001"]).contains(&alice));
    refused(&app, p, &["admin", "grant", "000011110001"], "already");
    ok(&app, p, &["admin", "grant", &national_id(2)]);
    refused(&app, p, &["admin", "grant", "999999999999"], "no person");
    refused(&app, p, &["admin", "grant", "A12345"], "no person");

    let list = ok_json(&app, p, &["admin", "list", "--json"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{list}");
    assert!(names.contains(&"林雅婷") && names.contains(&"陳志明"));
    assert_eq!(list[0]["granted_by"], "cli:clerk");

    ok(&app, p, &["admin", "revoke", &alice]);
    refused(&app, p, &["admin", "revoke", &alice], "does not hold");
    let list = ok_json(&app, p, &["admin", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);

    let audit = ok_json(
        &app,
        p,
        &["audit", "list", "--person", "000011110001", "--json"],
    );
    let events: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(events.contains(&("admin_grant", "cli:clerk")), "{events:?}");
    assert!(
        events.contains(&("admin_revoke", "cli:clerk")),
        "{events:?}"
    );
}

#[tokio::test]
async fn registration_commands_search_show_deactivate_reactivate_unlock_delete_end_sessions() {
    let app = spawn_app().await;
    let data = tempfile::tempdir().unwrap();
    let p = data.path();
    let wang = resident(&app, 11, "000022220001", "王小明", false);
    let pending = resident(&app, 12, "000022220002", "王大同", true);
    resident(&app, 13, "000022220003", "李美玲", false);

    // Search by part of the name, card number and national ID; IDs masked only.
    let full_id = national_id(11);
    search_registrations(&app, p, &wang, &full_id);

    // Deactivate needs a reason.
    let (success, _, err) = run(&app, p, &["registration", "deactivate", "000022220001"]);
    assert!(!success && err.contains("--reason"), "{err}");
    refused(
        &app,
        p,
        &[
            "registration",
            "deactivate",
            "000022220001",
            "--reason",
            "  ",
        ],
        "reason",
    );
    ok(
        &app,
        p,
        &[
            "registration",
            "deactivate",
            "000022220001",
            "--reason",
            "本人臨櫃申請停用",
        ],
    );
    let shown = ok_json(&app, p, &["registration", "show", &wang, "--json"]);
    assert_eq!(shown["status"], "deactivated");
    assert_eq!(shown["deactivation_reason"], "本人臨櫃申請停用");
    let trail = shown["audit"].as_array().unwrap();
    assert!(
        trail.iter().any(|e| e["event"] == "registration_deactivate"
            && e["actor"] == "cli:clerk"
            && e["detail"] == "reason=本人臨櫃申請停用"),
        "{shown}"
    );
    refused(&app, p, &["registration", "unlock", &wang], "locked");
    ok(&app, p, &["registration", "reactivate", &wang]);
    refused(
        &app,
        p,
        &["registration", "reactivate", &wang],
        "deactivated",
    );

    // Locked by wrong passwords, unlocked at the counter.
    let now = app.engine.now();
    for _ in 0..5 {
        app.engine
            .store()
            .record_failed_login(&wang, 5, now)
            .unwrap();
    }
    let shown = ok_json(&app, p, &["registration", "show", "000022220001", "--json"]);
    assert_eq!(shown["status"], "locked");
    ok(&app, p, &["registration", "unlock", "000022220001"]);
    let shown = ok_json(&app, p, &["registration", "show", &wang, "--json"]);
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["failed_attempts"], 0);

    // Only a pending application can be deleted.
    refused(&app, p, &["registration", "delete", &wang], "pending");
    ok(&app, p, &["registration", "delete", "000022220002"]);
    refused(&app, p, &["registration", "show", &pending], "no person");

    ok(&app, p, &["registration", "end-sessions", &wang]);

    // The audit log has every step, filterable, and as CSV.
    let audit = ok_json(
        &app,
        p,
        &[
            "audit",
            "list",
            "--actor",
            "cli:clerk",
            "--limit",
            "200",
            "--json",
        ],
    );
    let events = item_strings(&audit, "event");
    for e in [
        "registration_deactivate",
        "registration_reactivate",
        "registration_unlock",
        "registration_delete",
        "sessions_end",
    ] {
        assert!(events.contains(&e), "{e} not in {events:?}");
    }
    let csv = ok(
        &app,
        p,
        &[
            "audit",
            "list",
            "--event",
            "registration_deactivate",
            "--csv",
        ],
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,time,event,outcome,actor,person_id,client_id,ip,detail"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains("registration_deactivate") && lines[1].contains(&wang));
    refused(&app, p, &["audit", "list", "--from", "yesterday"], "from");
    let none = ok_json(
        &app,
        p,
        &["audit", "list", "--from", "2999-01-01", "--json"],
    );
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
}

/// `registration search` by name, card number and national ID (masked), in pages; `12345` fails.
fn search_registrations(app: &TestApp, p: &std::path::Path, wang: &str, full_id: &str) {
    let found = ok_json(app, p, &["registration", "search", "王", "--json"]);
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{found}");
    assert!(
        !found.to_string().contains(full_id),
        "full national ID shown"
    );
    let masked = format!("{}****{}", &full_id[..3], &full_id[7..]);
    assert!(found.to_string().contains(&masked), "{found}");
    let by_card = ok_json(
        app,
        p,
        &["registration", "search", "000022220001", "--json"],
    );
    assert_eq!(by_card["items"][0]["person_id"], wang);
    let by_id = ok_json(app, p, &["registration", "search", full_id, "--json"]);
    assert_eq!(by_id["items"][0]["person_id"], wang);
    refused(app, p, &["registration", "search", "12345"], "12 digits");
    // Paging.
    let first = ok_json(
        app,
        p,
        &["registration", "search", "--limit", "2", "--json"],
    );
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = ok_json(
        app,
        p,
        &[
            "registration",
            "search",
            "--limit",
            "2",
            "--cursor",
            cursor,
            "--json",
        ],
    );
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second.get("next_cursor").is_none());
}
