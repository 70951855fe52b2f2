//! `cardinal admin grant|revoke|list`, `cardinal registration …`, `cardinal audit list`:
//! the admin console's operations on the command line, through the same services.

use crate::cli::{AdminCommand, AuditCommand, RegistrationCommand};
use cardinal::admin::audit::AuditQuery;
use cardinal::admin::registrations::{Changed, RegistrationDetailView};
use cardinal::admin::{self, resolve_person, Actor, AdminError};
use cardinal::clock::format_rfc3339;
use cardinal::configuration::Settings;
use cardinal::oidc::Engine;

fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn run_admin(settings: &Settings, command: AdminCommand) -> anyhow::Result<()> {
    let services = super::services(settings)?;
    let engine = &services.engine;
    let by = Actor::cli();
    match command {
        AdminCommand::Grant(who) => {
            let id = admin::roles::grant(engine, &by, &who.person)?;
            println!("granted the admin role to person {id}");
        }
        AdminCommand::Revoke(who) => {
            let id = admin::roles::revoke(engine, &by, &who.person)?;
            println!("revoked the admin role of person {id}");
        }
        AdminCommand::List { json: as_json } => {
            let list = admin::roles::list(engine)?;
            if as_json {
                return json(&list);
            }
            for a in list {
                println!(
                    "{:<38} {:<12} granted {} by {}",
                    a.person_id,
                    a.name,
                    format_rfc3339(a.granted_at),
                    a.granted_by
                );
            }
        }
    }
    Ok(())
}

fn person(engine: &Engine, who: &str) -> anyhow::Result<String> {
    resolve_person(engine, who)?.ok_or_else(|| {
        AdminError::NotFound("no person with this card number, national ID or id".into()).into()
    })
}

fn print_detail(d: &RegistrationDetailView) {
    println!("person:        {}", d.person_id);
    println!("name:          {}", d.name);
    println!("national ID:   {}", d.national_id);
    for c in &d.cards {
        println!("card:          {} ({})", c.card_number, c.kind);
    }
    println!("status:        {}", d.status);
    if let Some(reason) = &d.deactivation_reason {
        println!("reason:        {reason}");
    }
    println!("applied:       {}", format_rfc3339(d.created_at));
    println!("wrong passwords: {}", d.failed_attempts);
    println!(
        "active sessions: {}   admin: {}",
        d.active_sessions, d.is_admin
    );
    println!("audit trail:");
    for e in &d.audit {
        println!(
            "  {} {:<24} {:<8} {}",
            e.time,
            e.event,
            e.outcome,
            e.actor.as_deref().unwrap_or("-")
        );
    }
}

/// Sends the back-channel logout tokens of ended sessions, and waits.
fn deliver(changed: &mut Changed) -> anyhow::Result<()> {
    let deliveries = std::mem::take(&mut changed.deliveries);
    if deliveries.is_empty() {
        return Ok(());
    }
    let sender = cardinal::backchannel::BackchannelSender::new()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(sender.deliver_all(deliveries));
    Ok(())
}

pub fn run_registration(settings: &Settings, command: RegistrationCommand) -> anyhow::Result<()> {
    let services = super::services(settings)?;
    let engine = &services.engine;
    let by = Actor::cli();
    let done = |mut changed: Changed, what: &str| -> anyhow::Result<()> {
        deliver(&mut changed)?;
        println!(
            "{what}: {} is now {}",
            changed.registration.person_id, changed.registration.status
        );
        Ok(())
    };
    match command {
        RegistrationCommand::Search {
            query,
            limit,
            cursor,
            json: as_json,
        } => {
            let page =
                admin::registrations::search(engine, query.as_deref(), limit, cursor.as_deref())?;
            if as_json {
                return json(&page);
            }
            for r in &page.items {
                println!(
                    "{:<38} {:<12} {:<11} {:<12} {}",
                    r.person_id,
                    r.name,
                    r.national_id,
                    r.status,
                    r.cards.join(",")
                );
            }
            if let Some(next) = page.next_cursor {
                println!("more: --cursor {next}");
            }
        }
        RegistrationCommand::Show { who, json: as_json } => {
            let d = admin::registrations::detail(engine, &person(engine, &who.person)?)?;
            if as_json {
                return json(&d);
            }
            print_detail(&d);
        }
        RegistrationCommand::Deactivate { who, reason } => {
            let id = person(engine, &who.person)?;
            done(
                admin::registrations::deactivate(engine, &by, &id, &reason)?,
                "deactivated",
            )?;
        }
        RegistrationCommand::Reactivate(who) => {
            let id = person(engine, &who.person)?;
            done(
                admin::registrations::reactivate(engine, &by, &id)?,
                "reactivated",
            )?;
        }
        RegistrationCommand::Unlock(who) => {
            let id = person(engine, &who.person)?;
            done(admin::registrations::unlock(engine, &by, &id)?, "unlocked")?;
        }
        RegistrationCommand::Delete(who) => {
            let id = person(engine, &who.person)?;
            admin::registrations::delete_pending(engine, &by, &id)?;
            println!("deleted the pending application of {id}");
        }
        RegistrationCommand::EndSessions(who) => {
            let id = person(engine, &who.person)?;
            done(
                admin::registrations::end_sessions(engine, &by, &id)?,
                "sessions ended",
            )?;
        }
    }
    Ok(())
}

pub fn run_audit(settings: &Settings, command: AuditCommand) -> anyhow::Result<()> {
    let services = super::services(settings)?;
    let engine = &services.engine;
    let AuditCommand::List(a) = command;
    let q = AuditQuery {
        from: a.from,
        to: a.to,
        person: a.person,
        client_id: a.client_id,
        event: a.event,
        outcome: a.outcome,
        actor: a.actor,
        limit: a.limit,
        cursor: a.cursor,
    };
    if a.csv {
        print!("{}", admin::audit::csv(engine, &q)?);
        return Ok(());
    }
    let page = admin::audit::list(engine, &q)?;
    if a.json {
        return json(&page);
    }
    for e in &page.items {
        println!(
            "{} {:<24} {:<8} {:<20} person={} client={} {}",
            e.time,
            e.event,
            e.outcome,
            e.actor.as_deref().unwrap_or("-"),
            e.person_id.as_deref().unwrap_or("-"),
            e.client_id.as_deref().unwrap_or("-"),
            e.detail.as_deref().unwrap_or_default()
        );
    }
    if let Some(next) = page.next_cursor {
        println!("more: --cursor {next}");
    }
    Ok(())
}
