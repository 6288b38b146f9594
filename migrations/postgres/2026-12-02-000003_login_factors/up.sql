-- How a user logs in: whether login asks for a second factor, and the
-- factors each session's user gave.

ALTER TABLE users ADD COLUMN mfa_enabled boolean NOT NULL DEFAULT false;

-- How the session's user logged in: its tokens carry it as `amr`.
ALTER TABLE sessions ADD COLUMN factors text NOT NULL DEFAULT 'pwd'
    CONSTRAINT sessions_factors_check CHECK (factors IN ('pwd', 'pwd otp'));
