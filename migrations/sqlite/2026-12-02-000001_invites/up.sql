-- Invitations to join an organization, as in migrations/postgres. Only the
-- SHA-256 digest of each invitation code is stored. An invitation is
-- pending while it is neither accepted nor revoked and has not expired.
CREATE TABLE invites (
    id              TEXT    NOT NULL PRIMARY KEY,
    organization_id TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           TEXT    NOT NULL,
    role            TEXT    NOT NULL
        CONSTRAINT invites_role_check
        CHECK (role IN ('admin', 'member')),
    digest          BLOB    NOT NULL CHECK (length(digest) = 32),
    invited_by      TEXT    REFERENCES users (id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    accepted_at     INTEGER,
    accepted_by     TEXT    REFERENCES users (id) ON DELETE SET NULL,
    revoked_at      INTEGER
) STRICT;

CREATE UNIQUE INDEX invites_digest_key ON invites (digest);
CREATE INDEX invites_organization_id_idx ON invites (organization_id, created_at);
-- Re-inviting an address replaces its older invitation: at most one is open.
CREATE UNIQUE INDEX invites_open_key ON invites (organization_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
