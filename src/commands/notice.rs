//! `cardinal notice list|add|update|remove`: service notices (服務公告) on the command line,
//! through the same service as the console and the API, audited as `cli:USER`.

use crate::cli::{NoticeArgs, NoticeCommand};
use cardinal::admin::notices::{self, NoticeInput, NoticeView};
use cardinal::admin::{Actor, MAX_LIMIT};
use cardinal::configuration::Settings;

impl NoticeArgs {
    fn input(self) -> NoticeInput {
        NoticeInput {
            text_zh_tw: self.text_zh_tw,
            text_en: self.text_en,
            shown_from: self.from,
            shown_until: self.until.map(Some),
            places: (!self.places.is_empty()).then_some(self.places),
            maintenance_from: self.maintenance_from.map(Some),
            maintenance_until: self.maintenance_until.map(Some),
        }
    }
}

fn print(n: &NoticeView) {
    println!(
        "{}  {:<9} {} – {}  [{}]",
        n.id,
        n.state,
        n.shown_from,
        n.shown_until.as_deref().unwrap_or("(until removed)"),
        n.places.join(",")
    );
    if let (Some(from), Some(until)) = (&n.maintenance_from, &n.maintenance_until) {
        let now = if n.in_maintenance { " (in force)" } else { "" };
        println!("    maintenance {from} – {until}{now}");
    }
    println!("    zh-TW: {}", n.text_zh_tw.replace('\n', " / "));
    println!("    en:    {}", n.text_en.replace('\n', " / "));
}

pub fn run(settings: &Settings, command: NoticeCommand) -> anyhow::Result<()> {
    let services = super::services(settings)?;
    let engine = &services.engine;
    let by = Actor::cli();
    match command {
        NoticeCommand::List { json } => {
            let mut all = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = notices::list(engine, Some(MAX_LIMIT), cursor.as_deref())?;
                all.extend(page.items);
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            if all.is_empty() {
                println!("no notices");
            }
            all.iter().for_each(print);
        }
        NoticeCommand::Add(args) => {
            let n = notices::create(engine, &by, &args.input())?;
            println!("{}", n.id);
        }
        NoticeCommand::Update {
            id,
            notice,
            no_until,
            no_maintenance,
        } => {
            let mut input = notice.input();
            if no_until {
                input.shown_until = Some(None);
            }
            if no_maintenance {
                input.maintenance_from = Some(None);
                input.maintenance_until = Some(None);
            }
            let n = notices::update(engine, &by, &id, &input)?;
            print(&n);
        }
        NoticeCommand::Remove { id } => {
            notices::delete(engine, &by, &id)?;
            println!("removed notice {id}");
        }
    }
    Ok(())
}
