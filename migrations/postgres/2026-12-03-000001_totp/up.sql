-- Two-factor login (TOTP). A TOTP secret must be readable by the server,
-- so it is stored sealed (an AEAD ciphertext and the id of the key that
-- sealed it); recovery codes and login challenges only as SHA-256 digests.

CREATE TABLE totp_credentials (
    user_id        uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The confirmed secret, which login asks a code of.
    secret         bytea,
    secret_key_id  text,
    -- A secret set up but not confirmed yet.
    pending        bytea,
    pending_key_id text,
    -- The time step of the last code accepted: no code works twice.
    last_step      bigint,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT totp_credentials_secret_check CHECK ((secret IS NULL) = (secret_key_id IS NULL)),
    CONSTRAINT totp_credentials_pending_check CHECK ((pending IS NULL) = (pending_key_id IS NULL))
);

CREATE TABLE recovery_codes (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest     bytea       NOT NULL CHECK (octet_length(digest) = 32),
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (user_id, digest)
);

CREATE TABLE mfa_challenges (
    digest     bytea       PRIMARY KEY CHECK (octet_length(digest) = 32),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);
