-- Transactional mail outbox (docs/requirements.md R-OPS-7): a message is written in the
-- same transaction as the change that causes it and sent by a worker; an SMTP outage delays
-- mail, never loses it. The payload (recipient, subject, bodies with their links) is
-- encrypted and is erased once the message is sent.
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    payload TEXT NOT NULL,
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_until BIGINT,
    sent_at BIGINT,
    last_error TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_attempt_at);
