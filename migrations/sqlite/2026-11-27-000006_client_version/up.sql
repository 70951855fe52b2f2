-- A version per client: a change based on an older read is refused, never written over
-- another admin's change (optimistic locking).
ALTER TABLE clients ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
