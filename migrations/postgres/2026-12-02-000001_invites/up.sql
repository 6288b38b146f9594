-- Invitations to join an organization. Only the SHA-256 digest of each
-- invitation code is stored. An invitation is pending while it is neither
-- accepted nor revoked and has not expired.
CREATE TABLE invites (
    id              uuid        PRIMARY KEY,
    organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           text        NOT NULL,
    role            text        NOT NULL
        CONSTRAINT invites_role_check
        CHECK (role IN ('admin', 'member')),
    digest          bytea       NOT NULL CHECK (octet_length(digest) = 32),
    invited_by      uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    accepted_by     uuid        REFERENCES users (id) ON DELETE SET NULL,
    revoked_at      timestamptz
);

CREATE UNIQUE INDEX invites_digest_key ON invites (digest);
CREATE INDEX invites_organization_id_idx ON invites (organization_id, created_at);
-- Re-inviting an address replaces its older invitation: at most one is open.
CREATE UNIQUE INDEX invites_open_key ON invites (organization_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
