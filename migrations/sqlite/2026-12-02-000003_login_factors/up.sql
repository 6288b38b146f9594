-- How a user logs in, as in migrations/postgres: whether login asks for a
-- second factor, and the factors each session's user gave.

ALTER TABLE users ADD COLUMN mfa_enabled INTEGER NOT NULL DEFAULT 0
    CHECK (mfa_enabled IN (0, 1));

-- How the session's user logged in: its tokens carry it as `amr`.
ALTER TABLE sessions ADD COLUMN factors TEXT NOT NULL DEFAULT 'pwd'
    CONSTRAINT sessions_factors_check CHECK (factors IN ('pwd', 'pwd otp'));
