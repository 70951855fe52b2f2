-- Enrollment (docs/requirements.md R-ID, R-REG): the resident registry used for identity
-- proofing, the card(s) of each person, registrations with their state and lockout counter,
-- single-use mail tokens, and rate-limit buckets shared by all instances.

-- 戶籍資料. The national ID is not stored: rows are found by its keyed hash.
CREATE TABLE residents (
    national_id_hash TEXT PRIMARY KEY NOT NULL,
    household_no TEXT NOT NULL,
    county TEXT NOT NULL,
    township TEXT NOT NULL,
    village TEXT NOT NULL,
    neighborhood INTEGER NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX residents_place ON residents (county, township, village);

-- A person's national ID: encrypted (AES-GCM under keys.secret_key) and a keyed hash to
-- look it up; the birth date from the card.
ALTER TABLE persons ADD COLUMN national_id_hash TEXT;
ALTER TABLE persons ADD COLUMN national_id_sealed TEXT;
ALTER TABLE persons ADD COLUMN birth_date TEXT;
CREATE UNIQUE INDEX persons_national_id ON persons (national_id_hash);

CREATE TABLE person_cards (
    card_number TEXT PRIMARY KEY NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX person_cards_person ON person_cards (person_id);

-- 健保卡網路服務註冊: pending → active → locked → active; deactivated at the counter.
CREATE TABLE registrations (
    person_id TEXT PRIMARY KEY NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    phone_area TEXT,
    phone_number TEXT,
    phone_ext TEXT,
    mobile TEXT,
    email_backup TEXT,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    locked_at BIGINT,
    deactivated_at BIGINT,
    deactivation_reason TEXT,
    password_changed_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Links sent by mail (認證通知信, 重設註冊密碼信, new e-mail): ≥ 128-bit random, stored by
-- hash, single use.
CREATE TABLE mail_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    new_email TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX mail_tokens_person ON mail_tokens (person_id, purpose);

-- Fixed-window counters for rate limits (R-X-3), one row per key and window.
CREATE TABLE rate_limits (
    bucket TEXT PRIMARY KEY NOT NULL,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL
);
