-- The initial authd schema: users, organizations, sessions, one-time codes
-- and login throttling. Later features (API keys, invites) add their own
-- migrations next to this one.

CREATE TABLE users (
    id             uuid        PRIMARY KEY,
    email          text        NOT NULL,
    username       text,
    phone          text,
    first_name     text        NOT NULL,
    last_name      text        NOT NULL,
    password_hash  text        NOT NULL,
    status         text        NOT NULL
        CONSTRAINT users_status_check
        CHECK (status IN ('pending_validation', 'active', 'inactive')),
    email_verified boolean     NOT NULL DEFAULT false,
    is_admin       boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- The adapter maps a unique violation to the colliding field by these names.
CREATE UNIQUE INDEX users_email_key    ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_phone_key    ON users (phone);

CREATE TABLE organizations (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE memberships (
    organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text        NOT NULL
        CONSTRAINT memberships_role_check
        CHECK (role IN ('owner', 'admin', 'member')),
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);

CREATE INDEX memberships_user_id_idx ON memberships (user_id);

CREATE TABLE sessions (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    user_agent   text,
    ip           text
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);

-- Only the SHA-256 digest of each refresh token is stored.
CREATE TABLE refresh_tokens (
    digest     bytea       PRIMARY KEY CHECK (octet_length(digest) = 32),
    session_id uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    spent_at   timestamptz
);

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

-- Only the SHA-256 digest of each one-time code is stored.
CREATE TABLE one_time_codes (
    digest     bytea       PRIMARY KEY CHECK (octet_length(digest) = 32),
    kind       text        NOT NULL
        CONSTRAINT one_time_codes_kind_check
        CHECK (kind IN ('validate-email', 'resend-validation', 'reset-password', 'invite')),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX one_time_codes_user_id_kind_idx ON one_time_codes (user_id, kind);

CREATE TABLE login_failures (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account text        NOT NULL,
    ip      text        NOT NULL,
    at      timestamptz NOT NULL
);

CREATE INDEX login_failures_account_at_idx ON login_failures (account, at);
CREATE INDEX login_failures_ip_at_idx      ON login_failures (ip, at);
-- Lets clear_failed_logins purge old records without a full scan.
CREATE INDEX login_failures_at_idx         ON login_failures (at);
