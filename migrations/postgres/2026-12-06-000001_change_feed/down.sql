DROP TRIGGER organizations_announce_delete ON organizations;
DROP TRIGGER api_keys_announce_delete ON api_keys;
DROP TRIGGER api_keys_announce_update ON api_keys;
DROP TRIGGER memberships_announce ON memberships;
DROP TRIGGER sessions_announce_delete ON sessions;
DROP TRIGGER sessions_announce_revoke ON sessions;
DROP TRIGGER users_announce_delete ON users;
DROP TRIGGER users_announce_update ON users;
DROP FUNCTION authd_announce_change();
