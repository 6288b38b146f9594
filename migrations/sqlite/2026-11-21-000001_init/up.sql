-- The initial authd schema for SQLite: the same tables, columns, indexes and
-- constraint names as migrations/postgres, in SQLite's types.
--
-- Conventions (SQLite has no uuid, timestamptz or bool types):
--   * ids are TEXT: hyphenated, lower-case UUIDs (v7, so they sort by time);
--   * instants are INTEGER microseconds since the Unix epoch, UTC (the
--     precision of PostgreSQL's timestamptz; integers sort correctly);
--   * digests are BLOB SHA-256 (32 bytes); booleans are INTEGER 0/1.
-- Tables are STRICT so a wrongly typed value is refused, not coerced.

CREATE TABLE users (
    id             TEXT    NOT NULL PRIMARY KEY,
    email          TEXT    NOT NULL,
    username       TEXT,
    phone          TEXT,
    first_name     TEXT    NOT NULL,
    last_name      TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    status         TEXT    NOT NULL
        CONSTRAINT users_status_check
        CHECK (status IN ('pending_validation', 'active', 'inactive')),
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    is_admin       INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

-- Uniqueness is enforced by the database so concurrent sign-ups cannot both
-- succeed. The adapter recognises these index names in constraint errors.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_phone_key ON users (phone);

CREATE TABLE organizations (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
    organization_id TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT    NOT NULL
        CONSTRAINT memberships_role_check
        CHECK (role IN ('owner', 'admin', 'member')),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (organization_id, user_id)
) STRICT;

CREATE INDEX memberships_user_id_idx ON memberships (user_id);

CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    user_agent   TEXT,
    ip           TEXT
) STRICT;

CREATE INDEX sessions_user_id_idx ON sessions (user_id);

-- Only the SHA-256 digest of each refresh token is stored.
CREATE TABLE refresh_tokens (
    digest     BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER
) STRICT;

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

-- Only the SHA-256 digest of each one-time code is stored.
CREATE TABLE one_time_codes (
    digest     BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    kind       TEXT    NOT NULL
        CONSTRAINT one_time_codes_kind_check
        CHECK (kind IN ('validate-email', 'resend-validation', 'reset-password', 'invite')),
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

CREATE INDEX one_time_codes_user_id_kind_idx ON one_time_codes (user_id, kind);

CREATE TABLE login_failures (
    id      INTEGER NOT NULL PRIMARY KEY,
    account TEXT    NOT NULL,
    ip      TEXT    NOT NULL,
    at      INTEGER NOT NULL
) STRICT;

CREATE INDEX login_failures_account_at_idx ON login_failures (account, at);
CREATE INDEX login_failures_ip_at_idx      ON login_failures (ip, at);
-- Lets clear_failed_logins purge old records without a full scan.
CREATE INDEX login_failures_at_idx         ON login_failures (at);
