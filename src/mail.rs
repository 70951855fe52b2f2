//! Outgoing mail through a transactional outbox (docs/requirements.md R-OPS-7): callers
//! write the message into `mail_outbox` in the same transaction as the change that causes
//! it; a worker sends due messages over SMTP (lettre) or, in development, into a folder of
//! `.eml` files. A message is leased to one instance at a time, erased once sent, retried
//! with backoff while the server is down. Delivery is at least once: a crash between the
//! server's acceptance and the `sent` mark can repeat one message (with the same
//! Message-ID).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::configuration::Settings;
use crate::crypto::KeyRing;
use crate::store::{OutboxMessage, Storage};

const PAYLOAD_CONTEXT: &str = "mail_outbox.payload";
/// How long one instance holds a message while sending it (seconds).
const LEASE_SECS: i64 = 120;

/// What a mail says; sealed into the outbox row.
#[derive(Clone, Serialize, Deserialize)]
pub struct MailContent {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for MailContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies carry single-use links: never printed.
        f.debug_struct("MailContent")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Seals `content` into an outbox row (to be written by the caller's transaction).
pub fn outbox_message(
    ring: &KeyRing,
    content: &MailContent,
    purpose: &str,
    now: UnixTime,
) -> anyhow::Result<OutboxMessage> {
    // Refuse what could not be sent, before anything is committed.
    content
        .to
        .parse::<Mailbox>()
        .map_err(|e| anyhow!("not a mail address: {e}"))?;
    let payload = ring.seal(PAYLOAD_CONTEXT, &serde_json::to_vec(content)?)?;
    Ok(OutboxMessage {
        id: uuid::Uuid::new_v4().to_string(),
        payload,
        purpose: purpose.to_string(),
        created_at: now,
        next_attempt_at: now,
        attempts: 0,
        sent_at: None,
        last_error: None,
    })
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, std::path::PathBuf),
}

/// Sends what the outbox holds.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    store: Arc<dyn Storage>,
    ring: KeyRing,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.transport {
            Transport::Smtp(_) => "smtp".to_string(),
            Transport::Files(_, dir) => format!("files in {}", dir.display()),
        };
        f.debug_struct("Mailer")
            .field("transport", &kind)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn new(
        settings: &Settings,
        store: Arc<dyn Storage>,
        ring: KeyRing,
    ) -> anyhow::Result<Mailer> {
        let from: Mailbox = settings.mail.from.parse().context("mail.from")?;
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context("smtp_url")?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => {
                let dir = settings
                    .mail_outbox
                    .clone()
                    .unwrap_or_else(|| settings.data_dir.join("outbox"));
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("Failed to create {}", dir.display()))?;
                Transport::Files(AsyncFileTransport::<Tokio1Executor>::new(&dir), dir)
            }
        };
        Ok(Mailer {
            transport,
            from,
            store,
            ring,
        })
    }

    /// The folder of `.eml` files, when mail goes to files.
    pub fn outbox_dir(&self) -> Option<&std::path::Path> {
        match &self.transport {
            Transport::Files(_, dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    fn build(&self, id: &str, content: &MailContent) -> anyhow::Result<Message> {
        let to: Mailbox = content.to.parse().map_err(|e| anyhow!("recipient: {e}"))?;
        let domain = self.from.email.domain().to_string();
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(content.subject.clone())
            .message_id(Some(format!("<{id}@{domain}>")))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(content.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(content.html.clone()),
                    ),
            )
            .map_err(|e| anyhow!("cannot build the message: {e}"))
    }

    async fn send(&self, message: &Message) -> anyhow::Result<()> {
        match &self.transport {
            Transport::Smtp(t) => t
                .send(message.clone())
                .await
                .map(|_| ())
                .map_err(|e| anyhow!("SMTP: {e}")),
            Transport::Files(t, _) => t
                .send(message.clone())
                .await
                .map(|_| ())
                .map_err(|e| anyhow!("outbox folder: {e}")),
        }
    }

    /// Sends every due message once; returns how many were sent.
    pub async fn deliver_due(&self, now: UnixTime) -> anyhow::Result<usize> {
        let store = self.store.clone();
        let claimed =
            tokio::task::spawn_blocking(move || store.claim_due_mail(now, LEASE_SECS, 50))
                .await??;
        let mut sent = 0;
        for msg in claimed {
            let outcome = async {
                let bytes = self.ring.open(PAYLOAD_CONTEXT, &msg.payload)?;
                let content: MailContent = serde_json::from_slice(&bytes)?;
                let message = self.build(&msg.id, &content)?;
                self.send(&message).await
            }
            .await;
            let store = self.store.clone();
            let id = msg.id.clone();
            match outcome {
                Ok(()) => {
                    tokio::task::spawn_blocking(move || store.mark_mail_sent(&id, now)).await??;
                    tracing::info!(mail_id = %msg.id, purpose = %msg.purpose, "mail sent");
                    sent += 1;
                }
                Err(e) => {
                    let delay = backoff(msg.attempts);
                    let reason = e.to_string();
                    tracing::warn!(mail_id = %msg.id, purpose = %msg.purpose, attempts = msg.attempts + 1, retry_in = delay, error = %reason, "mail not sent; will retry");
                    tokio::task::spawn_blocking(move || {
                        store.mark_mail_failed(&id, &reason, now + delay)
                    })
                    .await??;
                }
            }
        }
        Ok(sent)
    }

    /// Runs the outbox worker until the process ends.
    pub fn spawn_worker(self, clock: Arc<dyn crate::clock::Clock>, every: Duration) {
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            loop {
                interval.tick().await;
                if let Err(e) = self.deliver_due(clock.now()).await {
                    tracing::warn!(error = ?e, "mail outbox worker");
                }
            }
        });
    }
}

/// Seconds before the next attempt: 15 s, 30 s, 1 min … at most 1 h.
fn backoff(attempts: i32) -> i64 {
    let exp = attempts.clamp(0, 8) as u32;
    (15_i64 << exp).min(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), 15);
        assert_eq!(backoff(1), 30);
        assert_eq!(backoff(20), 3600);
    }

    #[test]
    fn header_injection_is_impossible() {
        let ring = KeyRing::new(vec![1; 32]);
        let content = MailContent {
            to: "a@example.gov.tw\r\nBcc: victim@example.com".into(),
            subject: "x".into(),
            text: String::new(),
            html: String::new(),
        };
        assert!(outbox_message(&ring, &content, "confirm", 0).is_err());
    }
}
