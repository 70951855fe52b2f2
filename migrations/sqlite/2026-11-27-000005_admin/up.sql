-- Administration (docs/requirements.md R-ADM): who holds the admin role, the admin
-- console's sessions, and indexes for the audit-log filters.

-- The admin role, granted by `cardinal admin grant` and revoked by `cardinal admin revoke`.
CREATE TABLE admins (
    person_id TEXT PRIMARY KEY NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    granted_at BIGINT NOT NULL,
    granted_by TEXT NOT NULL
);

-- Sessions of the admin console (/admin), kept in the database so that every instance
-- knows them. The cookie holds a random value; only its hash is stored. A console session
-- lives inside the SSO session `sid` it was made from and ends with it.
CREATE TABLE admin_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    sid TEXT NOT NULL,
    acr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX admin_sessions_person ON admin_sessions (person_id);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);

CREATE INDEX audit_events_client ON audit_events (client_id);
CREATE INDEX audit_events_event ON audit_events (event);
CREATE INDEX persons_name ON persons (name);
