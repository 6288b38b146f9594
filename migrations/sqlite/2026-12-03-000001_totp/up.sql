-- Two-factor login (TOTP), as in migrations/postgres. A TOTP secret must be
-- readable by the server, so it is stored sealed (an AEAD ciphertext and
-- the id of the key that sealed it); recovery codes and login challenges
-- only as SHA-256 digests.

CREATE TABLE totp_credentials (
    user_id        TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The confirmed secret, which login asks a code of.
    secret         BLOB,
    secret_key_id  TEXT,
    -- A secret set up but not confirmed yet.
    pending        BLOB,
    pending_key_id TEXT,
    -- The time step of the last code accepted: no code works twice.
    last_step      INTEGER,
    updated_at     INTEGER NOT NULL,
    CONSTRAINT totp_credentials_secret_check CHECK ((secret IS NULL) = (secret_key_id IS NULL)),
    CONSTRAINT totp_credentials_pending_check CHECK ((pending IS NULL) = (pending_key_id IS NULL))
) STRICT;

CREATE TABLE recovery_codes (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest     BLOB    NOT NULL CHECK (length(digest) = 32),
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, digest)
) STRICT;

CREATE TABLE mfa_challenges (
    digest     BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);
