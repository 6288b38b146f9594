-- API keys. Only the SHA-256 digest of each secret is stored; `prefix`
-- (the secret's first characters) names a key in lists and logs.
CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    prefix       text        NOT NULL,
    digest       bytea       NOT NULL CHECK (octet_length(digest) = 32),
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz
);

CREATE UNIQUE INDEX api_keys_digest_key ON api_keys (digest);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id, created_at);
