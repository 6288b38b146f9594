"""Credentials for schemathesis: a fresh login for every case.

Every case of an operation with a `security` requirement gets a new
session of its own, so that a generated logout (or one of all sessions)
cannot leave the cases after it unauthenticated. Outside the stateful
phase each case also gets a new user (signed up, validated from the
mailbox, logged in); in the stateful phase each worker keeps one user, so
what one step makes belongs to the caller of the next.

Every answer is tallied by operation and status in $AUTHD_FUZZ_TALLY, so
the run can tell which authenticated operations never got a 2xx.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
import time
import uuid
from collections import Counter

import requests
import schemathesis
from schemathesis.generation import GenerationMode
from schemathesis.generation.meta import TestPhase

BASE = os.environ["AUTHD_FUZZ_URL"]
MAILBOX = os.environ["AUTHD_FUZZ_MAILBOX"]
TALLY = os.environ["AUTHD_FUZZ_TALLY"]
# The document's example password: the examples phase then changes it (and
# sends it where a password proves who one is) with a password that works.
PASSWORD = "correct horse battery staple"
# An administrator made before the server starts (.ci/fuzz-api), for the
# operations only administrators may call.
ADMIN = os.environ["AUTHD_FUZZ_ADMIN"]
UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")

http = requests.Session()
mail_lock = threading.Lock()
mail_offset = 0
codes: dict[str, str] = {}
local = threading.local()


def post(path: str, body: dict) -> requests.Response:
    return http.post(BASE + path, json=body, timeout=10)


def code_for(email: str) -> str:
    """The validation code mailed to `email`: complete mailbox lines only."""
    global mail_offset
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with mail_lock:
            try:
                with open(MAILBOX, "rb") as f:
                    f.seek(mail_offset)
                    chunk = f.read()
            except FileNotFoundError:
                chunk = b""
            end = chunk.rfind(b"\n") + 1
            mail_offset += end
            for line in chunk[:end].splitlines():
                mail = json.loads(line)
                if mail["kind"] == "validate-email":
                    codes[mail["to"]] = mail["code"]
            if email in codes:
                return codes.pop(email)
        time.sleep(0.02)
    raise RuntimeError(f"no validation mail to {email}")


def new_user() -> str:
    email = f"fuzz-{uuid.uuid4().hex}@example.com"
    made = post("/api/v1/auth/signup", {
        "email": email, "password": PASSWORD, "first_name": "Fuzz", "last_name": "Case",
    })
    if made.status_code != 201:
        raise RuntimeError(f"sign-up: {made.status_code} {made.text}")
    valid = post("/api/v1/auth/validate", {"code": code_for(email)})
    if valid.status_code != 200:
        raise RuntimeError(f"validate: {valid.status_code} {valid.text}")
    return email


def log_in(email: str) -> dict:
    answer = post("/api/v1/auth/login", {"username": email, "password": PASSWORD})
    if answer.status_code != 200:
        raise RuntimeError(f"login: {answer.status_code} {answer.text}")
    token = answer.json()["access_token"]
    # Looked up at each login: an earlier step may have deleted one.
    orgs = http.get(BASE + "/api/v1/organizations", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    ids = [o["id"] for o in orgs.json()] if orgs.status_code == 200 else []
    return {"token": token, "organizations": ids}


def secured(ctx) -> bool:
    return bool(ctx.operation.definition.raw.get("security"))


@schemathesis.auth(refresh_interval=None).apply_to(secured)
class FreshSession:
    def get(self, case, context):
        if "admin" in (case.operation.definition.raw.get("tags") or []):
            return log_in(ADMIN)
        if case.meta is not None and case.meta.phase.name == TestPhase.STATEFUL:
            if getattr(local, "email", None) is None:
                local.email = new_user()
            try:
                return log_in(local.email)
            except RuntimeError:
                # A step changed the password or switched the account off.
                local.email = new_user()
                return log_in(local.email)
        return log_in(new_user())

    def set(self, case, data, context):
        relabel_negative(case)
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data['token']}"
        # Any organization but one's own is 403 by design: a well-formed id
        # becomes the caller's own (a malformed one is left, for negative
        # cases); one a link put there, of the caller's, is kept.
        named = case.headers.get("X-Organization-Id")
        own = data["organizations"]
        if isinstance(named, str) and UUID.match(named) and own and named not in own:
            case.headers["X-Organization-Id"] = own[0]


def relabel_negative(case) -> None:
    """A case with a part generated to break the schema is a negative case.

    schemathesis 4.32.5's coverage phase labels some cases positive whose
    header part is negative (`X-Organization-Id: 0`, which the header's
    pattern refuses), and then holds the server's rightful 400 against it
    as positive data refused. Such a case is labelled negative here, so that
    the 400 is checked as the rejection it is.
    """
    meta = case.meta
    if meta is None or meta.generation.mode.is_negative:
        return
    if any(part.mode.is_negative for part in meta.components.values()):
        meta.generation.mode = GenerationMode.NEGATIVE


tally: Counter = Counter()
tally_lock = threading.Lock()


@schemathesis.hook
def after_call(context, case, response):
    with tally_lock:
        tally[(case.operation.label, response.status_code)] += 1


@atexit.register
def write_tally() -> None:
    """Adds this run's answers to those of the runs before it."""
    try:
        with open(TALLY) as f:
            out: dict[str, dict[str, int]] = json.load(f)
    except FileNotFoundError:
        out = {}
    for (label, status), n in tally.items():
        counts = out.setdefault(label, {})
        counts[str(status)] = counts.get(str(status), 0) + n
    with open(TALLY, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
