//! The outbox as the dev page shows it: the `.eml` files Cardinal wrote, newest first,
//! with the links they carry.

use std::path::Path;

/// A mail in the outbox.
pub(super) struct Mail {
    pub name: String,
    pub modified: std::time::SystemTime,
    pub to: String,
    pub subject: String,
    pub text: String,
}

pub(super) fn read_mail(path: &Path) -> Option<Mail> {
    let raw = std::fs::read(path).ok()?;
    let message = mail_parser::MessageParser::default().parse(&raw)?;
    let to = message
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string();
    Some(Mail {
        name: path.file_name()?.to_str()?.to_string(),
        modified: std::fs::metadata(path).and_then(|m| m.modified()).ok()?,
        to,
        subject: message.subject().unwrap_or_default().to_string(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
    })
}

/// The outbox's mail, newest first.
pub(super) fn mailbox(dir: &Path) -> Vec<Mail> {
    let mut mails: Vec<Mail> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .filter_map(|p| read_mail(&p))
                .collect()
        })
        .unwrap_or_default();
    mails.sort_by_key(|m| std::cmp::Reverse(m.modified));
    mails
}

/// The `http(s)://` links in a text, in order.
pub(super) fn links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', '。', '）', ')']).to_string())
        .collect()
}

pub(super) fn ago(t: std::time::SystemTime) -> String {
    let secs = t.elapsed().map(|d| d.as_secs()).unwrap_or(0);
    match secs {
        0..=59 => format!("{secs} 秒前"),
        60..=3599 => format!("{} 分鐘前", secs / 60),
        _ => format!("{} 小時前", secs / 3600),
    }
}
