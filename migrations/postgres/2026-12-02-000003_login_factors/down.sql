ALTER TABLE sessions DROP COLUMN factors;
ALTER TABLE users DROP COLUMN mfa_enabled;
