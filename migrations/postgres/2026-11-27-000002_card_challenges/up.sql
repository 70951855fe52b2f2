-- Card challenges (docs/requirements.md R-CARD-3): random, single use, bound to a browser
-- transaction, valid 5 minutes. Stored by hash; consumed by one conditional write.
CREATE TABLE card_challenges (
    challenge_hash TEXT PRIMARY KEY NOT NULL,
    binding TEXT NOT NULL,
    expected_card TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX card_challenges_expiry ON card_challenges (expires_at);
