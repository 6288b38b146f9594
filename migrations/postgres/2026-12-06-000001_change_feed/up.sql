-- Every committed change to what checking a caller reads is announced on
-- the channel `authd_changes`: the account's id, or `*` for any account.
-- Each instance forgets what it remembers of that account. NOTIFY is sent
-- at commit, never for a transaction rolled back, and identical payloads
-- of one transaction are sent once.
CREATE FUNCTION authd_announce_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
BEGIN
    IF TG_NARGS = 0 THEN
        PERFORM pg_notify('authd_changes', '*');
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        changed := to_jsonb(OLD);
    ELSE
        changed := to_jsonb(NEW);
    END IF;
    PERFORM pg_notify('authd_changes', changed ->> TG_ARGV[0]);
    RETURN NULL;
END
$$;

-- An account's standing, profile or factors.
CREATE TRIGGER users_announce_update AFTER UPDATE ON users
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION authd_announce_change('id');
CREATE TRIGGER users_announce_delete AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION authd_announce_change('id');

-- A session ended; a refresh, which changes only its times, is no news.
CREATE TRIGGER sessions_announce_revoke AFTER UPDATE OF revoked_at, user_id ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
                       OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION authd_announce_change('user_id');
CREATE TRIGGER sessions_announce_delete AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION authd_announce_change('user_id');

-- A membership added, changed or ended.
CREATE TRIGGER memberships_announce AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION authd_announce_change('user_id');

-- A key deleted or changed; recording its use is no news.
CREATE TRIGGER api_keys_announce_update AFTER UPDATE ON api_keys
    FOR EACH ROW WHEN ((OLD.user_id, OLD.digest, OLD.expires_at)
                       IS DISTINCT FROM (NEW.user_id, NEW.digest, NEW.expires_at))
    EXECUTE FUNCTION authd_announce_change('user_id');
CREATE TRIGGER api_keys_announce_delete AFTER DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION authd_announce_change('user_id');

-- An organization gone: platform administrators acting for it, too.
CREATE TRIGGER organizations_announce_delete AFTER DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION authd_announce_change();
