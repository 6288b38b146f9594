-- The change feed, as in migrations/postgres, for instances sharing one
-- file: every committed change to what checking a caller reads adds a row
-- naming the account (NULL: any account), which each instance reads in
-- `seq` order and forgets what it remembers of that account. AUTOINCREMENT
-- never reuses a number, so a reader that finds one missing knows it
-- missed a change (the oldest rows are pruned).
CREATE TABLE changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT
) STRICT;

-- Only the newest 10,000 changes are kept: a reader further behind than
-- that starts over.
CREATE TRIGGER changes_prune AFTER INSERT ON changes
BEGIN
    DELETE FROM changes WHERE seq <= NEW.seq - 10000;
END;

-- An account's standing, profile or factors.
CREATE TRIGGER users_announce_update AFTER UPDATE ON users
BEGIN
    INSERT INTO changes (account) VALUES (NEW.id);
END;
CREATE TRIGGER users_announce_delete AFTER DELETE ON users
BEGIN
    INSERT INTO changes (account) VALUES (OLD.id);
END;

-- A session ended; a refresh, which changes only its times, is no news.
CREATE TRIGGER sessions_announce_revoke AFTER UPDATE OF revoked_at, user_id ON sessions
    WHEN OLD.revoked_at IS NOT NEW.revoked_at OR OLD.user_id IS NOT NEW.user_id
BEGIN
    INSERT INTO changes (account) VALUES (NEW.user_id);
END;
CREATE TRIGGER sessions_announce_delete AFTER DELETE ON sessions
BEGIN
    INSERT INTO changes (account) VALUES (OLD.user_id);
END;

-- A membership added, changed or ended.
CREATE TRIGGER memberships_announce_insert AFTER INSERT ON memberships
BEGIN
    INSERT INTO changes (account) VALUES (NEW.user_id);
END;
CREATE TRIGGER memberships_announce_update AFTER UPDATE ON memberships
BEGIN
    INSERT INTO changes (account) VALUES (NEW.user_id);
END;
CREATE TRIGGER memberships_announce_delete AFTER DELETE ON memberships
BEGIN
    INSERT INTO changes (account) VALUES (OLD.user_id);
END;

-- A key deleted or changed; recording its use is no news.
CREATE TRIGGER api_keys_announce_update AFTER UPDATE ON api_keys
    WHEN OLD.user_id IS NOT NEW.user_id OR OLD.digest IS NOT NEW.digest
      OR OLD.expires_at IS NOT NEW.expires_at
BEGIN
    INSERT INTO changes (account) VALUES (NEW.user_id);
END;
CREATE TRIGGER api_keys_announce_delete AFTER DELETE ON api_keys
BEGIN
    INSERT INTO changes (account) VALUES (OLD.user_id);
END;

-- An organization gone: platform administrators acting for it, too.
CREATE TRIGGER organizations_announce_delete AFTER DELETE ON organizations
BEGIN
    INSERT INTO changes (account) VALUES (NULL);
END;
