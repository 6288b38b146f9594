-- One table counts what is throttled: failed logins (purpose 'login',
-- subject: the account) and mails sent on request (purpose 'mail',
-- subject: a digest of the recipient's address).
ALTER TABLE login_failures RENAME TO throttle_records;
ALTER TABLE throttle_records RENAME COLUMN account TO subject;
-- The rows already there are failed logins.
ALTER TABLE throttle_records ADD COLUMN purpose TEXT NOT NULL DEFAULT 'login';

DROP INDEX login_failures_account_at_idx;
DROP INDEX login_failures_ip_at_idx;
DROP INDEX login_failures_at_idx;
CREATE INDEX throttle_records_subject_at_idx ON throttle_records (purpose, subject, at);
CREATE INDEX throttle_records_ip_at_idx      ON throttle_records (purpose, ip, at);
-- Lets each purpose purge its old records without a full scan.
CREATE INDEX throttle_records_at_idx         ON throttle_records (purpose, at);
