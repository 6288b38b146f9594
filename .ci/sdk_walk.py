"""Drives a running authd through a client generated from its OpenAPI
document: signup, validate, a bad login, login, me, refresh; an invitation,
a sign-up by invitation and forward-auth for the organization; the
compatibility profile routes; an API key used as a script would; logout."""
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time

from authd_client import AuthenticatedClient, Client
from authd_client.api.auth import (
    confirm_totp,
    create_api_key,
    list_api_keys,
    login,
    login_mfa,
    logout,
    me,
    refresh,
    setup_totp,
    signup,
    signup_invite,
    validate,
    verify,
)
from authd_client.api.compatibility import (
    compat_api_login,
    compat_api_signup_invite,
    compat_auth_login,
    compat_auth_refresh_token,
    compat_list_organizations,
)
from authd_client.api.organizations import create_invite, list_members, list_organizations
from authd_client.models import (
    CodeBody,
    CreateApiKeyBody,
    InviteBody,
    InviteSignupBody,
    InviteTokenSignupBody,
    InvitedRole,
    LoginBody,
    LoginMfaBody,
    Problem,
    RefreshBody,
    SignupBody,
    TotpCodeBody,
)

base, mailbox = sys.argv[1], sys.argv[2]
password = "correct horse battery staple"
c = Client(base_url=base)


def totp(secret, steps=0):
    """The RFC 6238 code of the step `steps` away from now's."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int(time.time()) // 30 + steps)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def mail_to(to, kind):
    """The newest mail of `kind` to `to`, waiting a few seconds for it."""
    for _ in range(100):
        with open(mailbox) as f:
            # Complete lines only: the last may still be being appended.
            mails = [json.loads(line) for line in f.read().split("\n")[:-1]]
        found = [m for m in mails if m["to"] == to and m["kind"] == kind]
        if found:
            return found[-1]
        time.sleep(0.05)
    sys.exit(f"sdk: no {kind} mail to {to}")


def check(cond, what):
    if not cond:
        sys.exit(f"sdk: {what}")


u = signup.sync(client=c, body=SignupBody(email="sdk@example.com", password=password, first_name="S", last_name="D"))
check(u.status == "pending_validation", "signup")
code = mail_to("sdk@example.com", "validate-email")["code"]
u = validate.sync(client=c, body=CodeBody(code=code))
check(u.status == "active" and u.email_verified, "validate")
bad = login.sync(client=c, body=LoginBody(username="sdk@example.com", password="not the password"))
check(isinstance(bad, Problem) and bad.error_code == "bad-credentials", "bad login is a Problem")
t = login.sync(client=c, body=LoginBody(username="sdk@example.com", password=password))
check(t.token_type == "Bearer" and t.user.email == "sdk@example.com", "login")
check(me.sync(client=AuthenticatedClient(base_url=base, token=t.access_token)).email == "sdk@example.com", "me")
t2 = refresh.sync(client=c, body=RefreshBody(refresh_token=t.refresh_token))
check(t2.refresh_token != t.refresh_token, "refresh")
authed = AuthenticatedClient(base_url=base, token=t2.access_token)

orgs = list_organizations.sync(client=authed)
check(len(orgs) == 1 and orgs[0].role == "owner", "organizations")
org = orgs[0].id
inv = create_invite.sync(id=org, client=authed, body=InviteBody(email="colleague@example.com", role=InvitedRole.ADMIN))
check(inv.email == "colleague@example.com" and inv.role == "admin", "invite")
mail = mail_to("colleague@example.com", "invite")
ct = signup_invite.sync(client=c, body=InviteSignupBody(invite_code=mail["code"], password=password, first_name="C", last_name="L"))
check(ct.user.status == "active" and ct.user.email_verified, "sign-up by invitation")
colleague = AuthenticatedClient(base_url=base, token=ct.access_token)
v = verify.sync_detailed(client=colleague, x_organization_id=str(org))
check(v.status_code == 200 and v.headers["x-organization-role"] == "admin", "verify for the organization")
check(str(v.parsed.organization_id) == str(org) and v.parsed.role == "admin", "verify body")
roles = sorted((m.email, m.role) for m in list_members.sync(id=org, client=colleague))
check(roles == [("colleague@example.com", "admin"), ("sdk@example.com", "owner")], "members")

p = compat_api_login.sync(client=c, body=LoginBody(email="colleague@example.com", password=password))
check(p.token == p.access_token and p.token_type == "bearer", "profile login")
check(p.expiresIn == p.expires_in and p.username == "colleague@example.com", "profile login fields")
listed = compat_list_organizations.sync(client=AuthenticatedClient(base_url=base, token=p.token))
check([str(o.id) for o in listed] == [str(org)], "profile organizations")
j = compat_auth_login.sync(client=c, body=LoginBody(username="colleague@example.com", password=password))
check(j.jwt_token == j.access_token, "jwt_token")
j2 = compat_auth_refresh_token.sync(client=c, body=RefreshBody(refreshToken=j.refresh_token))
check(j2.jwt_token == j2.access_token and j2.refresh_token != j.refresh_token, "refresh-token")
bad = compat_auth_login.sync(client=c, body=LoginBody(username="nobody", password="not the password"))
check(isinstance(bad, Problem) and bad.error == "Unauthorized" and bad.message == bad.detail, "profile error")
create_invite.sync(id=org, client=authed, body=InviteBody(email="third@example.com", role=InvitedRole.MEMBER))
third = compat_api_signup_invite.sync(
    client=c, body=InviteTokenSignupBody(invite_token=mail_to("third@example.com", "invite")["code"], password=password, first_name="T", last_name="H")
)
check(third.email == "third@example.com" and third.token_type == "bearer", "profile sign-up by invitation")

made = create_api_key.sync(client=authed, body=CreateApiKeyBody(name="ci script"))
check(made.api_key.startswith("ak_") and made.prefix == made.api_key[:11], "api key")
check(made.apiKey == made.api_key and made.key_id == made.id, "api key aliases")
script = AuthenticatedClient(base_url=base, token=made.api_key)
check(me.sync(client=script).email == "sdk@example.com", "me with an api key")
check(verify.sync(client=script).auth_method == "api_key", "verify with an api key")
refused = list_api_keys.sync(client=script)
check(isinstance(refused, Problem) and refused.error_code == "insufficient-permissions", "a key lists no keys")
check([k.name for k in list_api_keys.sync(client=authed)] == ["ci script"], "keys")

enrolment = setup_totp.sync(client=authed)
check(enrolment.otpauth_uri.startswith("otpauth://totp/"), "totp setup")
codes = confirm_totp.sync(client=authed, body=TotpCodeBody(code=totp(enrolment.secret)))
check(len(codes.recovery_codes) == 10, "totp confirm")
asked = login.sync(client=c, body=LoginBody(username="sdk@example.com", password=password))
check(isinstance(asked, Problem) and asked.error_code == "mfa-required", "login asks for a code")
mfa_token = asked.extra_attributes.mfa_token
t3 = login_mfa.sync(client=c, body=LoginMfaBody(mfa_token=mfa_token, code=totp(enrolment.secret, 1)))
check(t3.token_type == "Bearer" and t3.user.mfa_enabled, "login with a code")

check(logout.sync(client=authed).message == "Successfully logged out", "logout")
after = me.sync(client=authed)
check(isinstance(after, Problem) and after.error_code == "invalid-token", "me after logout")
print("sdk: 1 passed, 0 failed")
