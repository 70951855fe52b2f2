DROP TABLE rate_limits;
DROP TABLE mail_tokens;
DROP TABLE registrations;
DROP TABLE person_cards;
DROP INDEX persons_national_id;
ALTER TABLE persons DROP COLUMN birth_date;
ALTER TABLE persons DROP COLUMN national_id_sealed;
ALTER TABLE persons DROP COLUMN national_id_hash;
DROP TABLE residents;
