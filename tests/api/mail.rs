//! The mail outbox against a real SMTP server (Debian's python3-aiosmtpd): delivery,
//! an outage that loses and duplicates nothing, and header injection.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cardinal::mail::{outbox_message, MailContent};

use crate::helpers::*;

/// An SMTP server that stores what it receives in a maildir.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One RFC 5322 message as a person reads it: its quoted-printable text decoded, then its
/// base64 parts decoded, then the raw message (so that the first link found is a decoded
/// one: lettre writes mostly-ASCII bodies, e.g. English mails, as quoted-printable).
pub fn decode_mail(raw: &str) -> String {
    use base64::Engine as _;
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let mut qp = Vec::new();
    let mut bytes = joined.bytes().peekable();
    while let Some(b) = bytes.next() {
        let hex: String = if b == b'=' {
            bytes.clone().take(2).map(char::from).collect()
        } else {
            String::new()
        };
        match u8::from_str_radix(&hex, 16) {
            Ok(v) if hex.len() == 2 => {
                qp.push(v);
                bytes.next();
                bytes.next();
            }
            _ => qp.push(b),
        }
    }
    let mut text = String::from_utf8_lossy(&qp).into_owned();
    let is_b64 = |l: &str| {
        !l.is_empty()
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
    };
    let mut block = String::new();
    for line in raw.lines().map(str::trim).chain(std::iter::once("")) {
        if is_b64(line) {
            block.push_str(line);
        } else if !block.is_empty() {
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(block.as_bytes()) {
                text.push('\n');
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
            block.clear();
        }
    }
    text.push('\n');
    text.push_str(raw);
    text
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    #[allow(clippy::disallowed_methods)]
    pub fn start(port: u16) -> SmtpServer {
        let maildir = tempfile::tempdir().unwrap();
        let child = Command::new("/usr/bin/python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd must be installed (.ci/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer {
            child,
            port,
            maildir,
        }
    }

    /// The messages received so far (raw RFC 5322 text).
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.path().join("box").join(sub)) {
                for e in entries.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }

    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let m = self.messages();
            if m.len() >= n || Instant::now() > deadline {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn content(to: &str, subject: &str) -> MailContent {
    MailContent {
        to: to.into(),
        subject: subject.into(),
        text: "請點選以下連結完成電子信箱認證：https://idp.example.gov.tw/confirm?t=abc".into(),
        html: "<p>請點選以下連結完成電子信箱認證</p>".into(),
    }
}

fn enqueue(app: &TestApp, c: &MailContent) {
    let msg = outbox_message(app.engine.ring(), c, "confirm", app.engine.now()).unwrap();
    app.engine.store().enqueue_mail(&msg).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn queued_mail_reaches_a_real_smtp_server_and_its_payload_is_erased() {
    let smtp = SmtpServer::start(free_port());
    let port = smtp.port;
    let app = spawn_app_with(|s| {
        s.smtp_url = Some(cardinal::configuration::SecretString::from(format!(
            "smtp://127.0.0.1:{port}"
        )));
        s.mail.send_interval_secs = 1;
    })
    .await;
    enqueue(
        &app,
        &content(
            "applicant@example.gov.tw",
            "健保卡網路服務註冊認證通知信\r\nBcc: x@evil.example",
        ),
    );
    let got = smtp.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let raw = &got[0];
    assert!(
        !raw.lines()
            .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "a CRLF in the subject never makes a header: {raw}"
    );
    assert!(
        !raw.contains("x@evil.example") || raw.contains("=?utf-8?"),
        "{raw}"
    );
    assert!(raw.contains("applicant@example.gov.tw"));
    assert!(raw.contains("Message-ID: <"), "{raw}");
    assert!(raw.contains("multipart/alternative"));
    for _ in 0..50 {
        if app.engine.store().pending_mail_count().unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.engine.store().pending_mail_count().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_smtp_outage_delays_mail_without_losing_or_repeating_it() {
    let port = free_port();
    let app = spawn_app_with(|s| {
        s.smtp_url = Some(cardinal::configuration::SecretString::from(format!(
            "smtp://127.0.0.1:{port}"
        )));
        s.mail.send_interval_secs = 1;
    })
    .await;
    for i in 0..3 {
        enqueue(
            &app,
            &content(&format!("person{i}@example.gov.tw"), "認證通知信"),
        );
    }
    // Server down: attempts fail, messages stay queued.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.engine.store().pending_mail_count().unwrap(), 3);
    let smtp = SmtpServer::start(port);
    app.clock.advance(60);
    let got = smtp.wait_for(3).await;
    assert_eq!(got.len(), 3, "every message arrives after the outage");
    // Give the worker time to (wrongly) send anything twice.
    app.clock.advance(3600);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(smtp.messages().len(), 3, "and none twice");
    assert_eq!(app.engine.store().pending_mail_count().unwrap(), 0);
}

#[tokio::test]
async fn development_outbox_writes_eml_files() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let app = spawn_app_with(|s| {
        s.mail_outbox = Some(outbox.clone());
        s.mail.send_interval_secs = 1;
    })
    .await;
    enqueue(&app, &content("dev@example.gov.tw", "認證通知信"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = std::fs::read_dir(&outbox).map(|d| d.count()).unwrap_or(0);
        if n > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no .eml file written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let file = std::fs::read_dir(&outbox)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(file.extension().and_then(|e| e.to_str()), Some("eml"));
}

#[test]
fn subjects_and_recipients_cannot_inject_headers() {
    let ring = cardinal::crypto::KeyRing::new(vec![3; 32]);
    assert!(outbox_message(
        &ring,
        &content("a@example.gov.tw\nBcc: x@evil.example", "s"),
        "confirm",
        0
    )
    .is_err());
    let sealed = outbox_message(
        &ring,
        &content("a@example.gov.tw", "s\r\nBcc: x@evil.example"),
        "confirm",
        0,
    )
    .unwrap();
    assert!(!sealed.payload.contains("evil"), "the payload is sealed");
}
