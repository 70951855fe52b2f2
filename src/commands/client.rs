//! `cardinal client create|list|show|update|delete|rotate-secret`.

use anyhow::Context;
use serde_json::json;

use crate::cli::{ClientCommand, ClientOptions};
use cardinal::admin::clients::records as clients;
use cardinal::admin::clients::{ClientDraft, ClientView};
use cardinal::admin::Actor;
use cardinal::configuration::Settings;

fn draft_from(options: &ClientOptions) -> anyhow::Result<ClientDraft> {
    let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    Ok(ClientDraft {
        redirect_uris: non_empty(&options.redirect_uris),
        post_logout_redirect_uris: non_empty(&options.post_logout_redirect_uris),
        backchannel_logout_uri: options.backchannel_logout_uri.clone().map(Some),
        grant_types: non_empty(&options.grant_types),
        auth_method: options.auth_method.clone(),
        scopes: non_empty(&options.scopes),
        min_acr: options.min_acr.clone().map(Some),
        subject_type: options.subject_type.clone(),
        jwks: match &options.jwks {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("Failed to read {}", path.display()))?,
            ),
            None => None,
        },
        id_token_alg: options.id_token_alg.clone(),
        ..Default::default()
    })
}

fn print_view(view: &ClientView, secret: Option<&str>, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        let mut v = serde_json::to_value(view)?;
        if let (Some(obj), Some(s)) = (v.as_object_mut(), secret) {
            obj.insert("client_secret".into(), json!(s));
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("client_id:    {}", view.client_id);
    if let Some(s) = secret {
        println!("client_secret: {s}   (shown once; store it now)");
    }
    println!("name:         {}", view.name);
    println!("auth method:  {}", view.auth_method);
    println!("grant types:  {}", view.grant_types.join(" "));
    println!("scopes:       {}", view.scopes.join(" "));
    println!("redirect URIs: {}", view.redirect_uris.join(" "));
    if !view.post_logout_redirect_uris.is_empty() {
        println!("post-logout:  {}", view.post_logout_redirect_uris.join(" "));
    }
    if let Some(u) = &view.backchannel_logout_uri {
        println!("back-channel: {u}");
    }
    if let Some(a) = &view.min_acr {
        println!("minimum acr:  {a}");
    }
    println!(
        "subject type: {}   skip consent: {}",
        view.subject_type, view.skip_consent
    );
    Ok(())
}

pub fn run(settings: &Settings, command: ClientCommand) -> anyhow::Result<()> {
    let services = super::services(settings)?;
    let engine = &services.engine;
    let by = Actor::cli();
    match command {
        ClientCommand::Create(args) => {
            let mut draft = draft_from(&args.options)?;
            draft.name = Some(args.name);
            draft.client_id = args.client_id;
            draft.skip_consent = Some(args.skip_consent);
            let (client, secret) = clients::create_by(engine, &draft, &by)?;
            print_view(&ClientView::from(&client), secret.as_deref(), args.json)?;
        }
        ClientCommand::List { json } => {
            let list: Vec<ClientView> = engine
                .store()
                .list_clients()?
                .iter()
                .map(ClientView::from)
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for c in list {
                    println!("{:<24} {:<22} {}", c.client_id, c.auth_method, c.name);
                }
            }
        }
        ClientCommand::Show { client_id, json } => {
            let client = clients::find(engine, &client_id)?;
            print_view(&ClientView::from(&client), None, json)?;
        }
        ClientCommand::Update(args) => {
            let mut draft = draft_from(&args.options)?;
            draft.name = args.name;
            draft.skip_consent = args.skip_consent;
            if args.no_backchannel_logout {
                draft.backchannel_logout_uri = Some(None);
            }
            if args.no_min_acr {
                draft.min_acr = Some(None);
            }
            let (client, secret) = clients::update_by(engine, &args.client_id, &draft, &by)?;
            print_view(&ClientView::from(&client), secret.as_deref(), args.json)?;
        }
        ClientCommand::Delete { client_id } => {
            clients::delete_by(engine, &client_id, &by)?;
            println!("deleted {client_id}");
        }
        ClientCommand::RotateSecret { client_id, json } => {
            let secret = clients::rotate_secret_by(engine, &client_id, &by)?;
            if json {
                println!(
                    "{}",
                    json!({ "client_id": client_id, "client_secret": secret })
                );
            } else {
                println!("client_secret: {secret}   (shown once; the old secret no longer works)");
            }
        }
    }
    Ok(())
}
