-- The card certificates people signed in with (issuer + serial), so that when a CRL later
-- revokes one, the IdP ends its holder's sessions and grants at once. `revoked_at` is set
-- by the one instance that acted on the revocation (a conditional update), so that every
-- other instance finds nothing left to do.
CREATE TABLE card_certificates (
    issuer_hash TEXT NOT NULL,
    serial TEXT NOT NULL,
    issuer_name TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    card_number TEXT NOT NULL,
    kind TEXT NOT NULL,
    not_after BIGINT NOT NULL,
    first_used_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (issuer_hash, serial)
);
CREATE INDEX card_certificates_person ON card_certificates (person_id);
