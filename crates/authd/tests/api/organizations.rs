//! Organizations over HTTP: roles, invitations by mail, the two ways in,
//! and the organization a caller acts for.

use reqwest::{Method, blocking::Response};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, PASSWORD, TestApp, assert_problem},
    on_both_backends, on_both_stores,
};

/// A logged-in user: id and access token.
#[derive(Clone)]
pub(crate) struct Account {
    id: String,
    email: String,
    token: String,
}

impl TestApp {
    /// A request with `token` and, if given, `X-Organization-Id`.
    fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        organization: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(id) = organization {
            request = request.header("X-Organization-Id", id);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().expect("request sent")
    }

    fn as_(&self, who: &Account, method: Method, path: &str, body: Option<&Value>) -> Response {
        self.call(method, path, &who.token, None, body)
    }

    /// An active, logged-in account with an organization of its own.
    pub(crate) fn account(&self, email: &str) -> Account {
        let (token, _) = self.logged_in(email);
        let me: Value = self
            .get_auth("/api/v1/auth/me", &token)
            .json()
            .expect("user JSON");
        Account {
            id: me["id"].as_str().expect("id").to_owned(),
            email: email.to_owned(),
            token,
        }
    }

    /// A platform administrator, logged in.
    fn platform_admin(&self, email: &str) -> Account {
        let (id, token) = self.logged_in_admin(email);
        Account {
            id,
            email: email.to_owned(),
            token,
        }
    }

    /// The id of `who`'s own (first) organization.
    pub(crate) fn own_organization(&self, who: &Account) -> String {
        let list: Value = self
            .as_(who, Method::GET, "/api/v1/organizations", None)
            .json()
            .expect("list JSON");
        list[0]["id"].as_str().expect("id").to_owned()
    }

    /// How many invitation mails `email` has been sent.
    fn invitations_to(&self, email: &str) -> usize {
        self.mails()
            .iter()
            .filter(|m| m["kind"] == "invite" && m["to"] == email)
            .count()
    }

    /// `by` invites `email` to `organization` with `role`; the invite,
    /// once its mail is in the mailbox (mail goes out in the background).
    pub(crate) fn invite(
        &self,
        by: &Account,
        organization: &str,
        email: &str,
        role: &str,
    ) -> Value {
        let address = email.trim().to_lowercase();
        let before = self.invitations_to(&address);
        let res = self.as_(
            by,
            Method::POST,
            &format!("/api/v1/organizations/{organization}/invites"),
            Some(&json!({ "email": email, "role": role })),
        );
        assert_eq!(res.status(), 201, "invite of {email}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.invitations_to(&address) == before {
            assert!(
                std::time::Instant::now() < deadline,
                "no invitation mail to {email}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        res.json().expect("invite JSON")
    }

    /// The newest invitation code mailed to `email`.
    pub(crate) fn invite_code(&self, email: &str) -> String {
        self.last_code(email, "invite")
    }

    pub(crate) fn sign_up_by_invite(&self, code: &str, extra: Value) -> Response {
        let mut body = json!({
            "invite_code": code, "password": PASSWORD,
            "first_name": "Grace", "last_name": "Hopper",
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.post_json("/api/v1/auth/signup/invite", &body)
    }

    /// A new person invited by `by` with `role`, signed up by invitation.
    fn joined(&self, by: &Account, organization: &str, email: &str, role: &str) -> Account {
        self.invite(by, organization, email, role);
        let code = self.invite_code(email);
        let res = self.sign_up_by_invite(&code, json!({}));
        assert_eq!(res.status(), 201, "sign-up by invitation of {email}");
        let tokens: Value = res.json().expect("tokens JSON");
        Account {
            id: tokens["user"]["id"].as_str().expect("id").to_owned(),
            email: email.to_owned(),
            token: tokens["access_token"].as_str().expect("token").to_owned(),
        }
    }

    fn accept(&self, who: &Account, code: &str) -> Response {
        self.as_(
            who,
            Method::POST,
            "/api/v1/organizations/invites/accept",
            Some(&json!({ "invite_code": code })),
        )
    }

    fn roles(&self, who: &Account, organization: &str) -> Vec<(String, String)> {
        let res = self.as_(
            who,
            Method::GET,
            &format!("/api/v1/organizations/{organization}/members"),
            None,
        );
        assert_eq!(res.status(), 200);
        let members: Value = res.json().expect("members JSON");
        members
            .as_array()
            .expect("array")
            .iter()
            .map(|m| {
                (
                    m["email"].as_str().expect("email").to_owned(),
                    m["role"].as_str().expect("role").to_owned(),
                )
            })
            .collect()
    }

    fn pending_invites(&self, who: &Account, organization: &str) -> Value {
        let path = format!("/api/v1/organizations/{organization}/invites");
        let res = self.as_(who, Method::GET, &path, None);
        assert_eq!(res.status(), 200);
        res.json().expect("invites JSON")
    }

    fn verify(&self, who: &Account, organization: Option<&str>) -> Response {
        self.call(
            Method::GET,
            "/api/v1/auth/verify",
            &who.token,
            organization,
            None,
        )
    }
}

fn header<'a>(res: &'a Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().expect("ascii"))
}

/// The whole first path: an owner invites a colleague, who signs up by
/// invitation, is active and verified, belongs to the inviting
/// organization only, and logs in.
fn a_colleague_signs_up_by_invitation_and_logs_in(app: TestApp) {
    let ada = app.account("ada@example.com");
    let list: Value = app
        .as_(&ada, Method::GET, "/api/v1/organizations", None)
        .json()
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["role"], "owner");
    assert_eq!(list[0]["name"], "Ada's organization");
    let org = list[0]["id"].as_str().unwrap().to_owned();

    let invite = app.invite(&ada, &org, " Grace@Example.com ", "admin");
    assert_eq!(invite["email"], "grace@example.com");
    assert_eq!(invite["role"], "admin");
    assert_eq!(invite["organization_id"], org.as_str());
    let created = time::OffsetDateTime::parse(
        invite["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        invite["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(expires - created, time::Duration::days(7));
    let listed: Value = app.pending_invites(&ada, &org);
    assert_eq!(listed, json!([invite]));

    let mail = app
        .mails()
        .into_iter()
        .find(|m| m["kind"] == "invite")
        .expect("an invitation mail");
    assert_eq!(mail["to"], "grace@example.com");
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("Ada Lovelace invites you to join Ada's organization"),
        "{text}"
    );
    let code = mail["code"].as_str().unwrap();
    assert!(text.contains(code));

    let res = app.sign_up_by_invite(code, json!({ "username": "grace" }));
    assert_eq!(res.status(), 201);
    let tokens: Value = res.json().unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    let user = &tokens["user"];
    assert_eq!(user["email"], "grace@example.com");
    assert_eq!(user["status"], "active");
    assert_eq!(user["email_verified"], true);
    let grace_token = tokens["access_token"].as_str().unwrap();
    let graces: Value = app
        .get_auth("/api/v1/organizations", grace_token)
        .json()
        .unwrap();
    assert_eq!(
        graces.as_array().unwrap().len(),
        1,
        "no organization of her own"
    );
    assert_eq!(graces[0]["id"], org.as_str());
    assert_eq!(graces[0]["role"], "admin");
    assert!(
        !app.mails()
            .iter()
            .any(|m| m["to"] == "grace@example.com" && m["kind"] == "validate-email"),
        "the invitation proved the address"
    );

    app.login("grace", PASSWORD);
    app.login("grace@example.com", PASSWORD);
    assert_eq!(
        app.roles(&ada, &org),
        [
            ("ada@example.com".to_owned(), "owner".to_owned()),
            ("grace@example.com".to_owned(), "admin".to_owned())
        ]
    );
    let pending: Value = app.pending_invites(&ada, &org);
    assert_eq!(
        pending,
        json!([]),
        "an accepted invitation is no longer pending"
    );
    assert_problem(app.sign_up_by_invite(code, json!({})), 400, "invalid-code");
}

/// The second path: an existing account accepts while logged in, and
/// then belongs to both organizations, its own first.
fn an_existing_account_accepts_an_invitation(app: TestApp) {
    let ada = app.account("ada@example.com");
    let org = app.own_organization(&ada);
    let bob = app.account("bob@example.com");
    let bobs = app.own_organization(&bob);
    app.invite(&ada, &org, "bob@example.com", "member");
    let code = app.invite_code("bob@example.com");

    // A sign-up with the address of an account spends nothing, nor does
    // an acceptance by another account.
    assert_problem(
        app.sign_up_by_invite(&code, json!({})),
        409,
        "user-already-exists",
    );
    let eve = app.account("eve@example.com");
    assert_problem(app.accept(&eve, &code), 403, "insufficient-permissions");

    let res = app.accept(&bob, &code);
    assert_eq!(res.status(), 200);
    let joined: Value = res.json().unwrap();
    assert_eq!(joined["id"], org.as_str());
    assert_eq!(joined["role"], "member");
    let list: Value = app
        .as_(&bob, Method::GET, "/api/v1/organizations", None)
        .json()
        .unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [bobs.as_str(), org.as_str()],
        "the oldest membership first"
    );
    assert_problem(app.accept(&bob, &code), 400, "invalid-code");

    // A revoked invitation cannot be accepted.
    let eves = app.own_organization(&eve);
    let invite = app.invite(&eve, &eves, "bob@example.com", "admin");
    let revoked = app.invite_code("bob@example.com");
    let path = format!(
        "/api/v1/organizations/{eves}/invites/{}",
        invite["id"].as_str().unwrap()
    );
    assert_eq!(app.as_(&eve, Method::DELETE, &path, None).status(), 204);
    assert_problem(app.accept(&bob, &revoked), 400, "invalid-code");
    assert_problem(
        app.as_(
            &bob,
            Method::GET,
            &format!("/api/v1/organizations/{eves}"),
            None,
        ),
        404,
        "not-found",
    );
}

/// Every refusal of an invitation and its code.
fn invitation_errors(app: TestApp) {
    let ada = app.account("ada@example.com");
    let org = app.own_organization(&ada);
    let eve = app.account("eve@example.com");
    let invites = format!("/api/v1/organizations/{org}/invites");

    // Wrong address: 403, and the code stays usable by the right person.
    app.invite(&ada, &org, "grace@example.com", "member");
    let code = app.invite_code("grace@example.com");
    assert_problem(app.accept(&eve, &code), 403, "insufficient-permissions");

    // Re-inviting replaces the older invitation.
    let newer = app.invite(&ada, &org, "grace@example.com", "admin");
    let newer_code = app.invite_code("grace@example.com");
    assert_ne!(code, newer_code);
    assert_problem(app.sign_up_by_invite(&code, json!({})), 400, "invalid-code");
    let listed: Value = app.as_(&ada, Method::GET, &invites, None).json().unwrap();
    assert_eq!(listed, json!([newer]));

    // A weak password spends nothing; fields are checked.
    let weak = app.sign_up_by_invite(&newer_code, json!({ "password": "password" }));
    let body = assert_problem(weak, 422, "validation-failed");
    assert_eq!(body["errors"][0]["field"], "password");
    let has_identity = app.sign_up_by_invite(
        &newer_code,
        json!({ "password": "grace@example.com is me" }),
    );
    assert_problem(has_identity, 422, "validation-failed");
    let bad_fields = app.sign_up_by_invite(
        &newer_code,
        json!({ "first_name": " ", "username": "x", "phone": "123" }),
    );
    let body = assert_problem(bad_fields, 422, "validation-failed");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["first_name", "username", "phone"]);

    // Revoked: the code stops working; revoking again is not found.
    let id = newer["id"].as_str().unwrap();
    let revoke = |id: &str| app.as_(&ada, Method::DELETE, &format!("{invites}/{id}"), None);
    assert_eq!(revoke(id).status(), 204);
    assert_problem(revoke(id), 404, "not-found");
    assert_problem(revoke("not-an-id"), 404, "not-found");
    assert_problem(
        app.sign_up_by_invite(&newer_code, json!({})),
        400,
        "invalid-code",
    );
    assert_problem(app.accept(&eve, "no such code"), 400, "invalid-code");

    // Spent: used once, refused after.
    app.invite(&ada, &org, "alan@example.com", "member");
    let alan_code = app.invite_code("alan@example.com");
    assert_eq!(app.sign_up_by_invite(&alan_code, json!({})).status(), 201);
    assert_problem(
        app.sign_up_by_invite(&alan_code, json!({})),
        400,
        "invalid-code",
    );

    // Invitations that cannot be made.
    let post = |who: &Account, body: Value| app.as_(who, Method::POST, &invites, Some(&body));
    assert_problem(
        post(
            &ada,
            json!({ "email": "alan@example.com", "role": "member" }),
        ),
        409,
        "already-member",
    );
    let body = assert_problem(
        post(&ada, json!({ "email": "not an address", "role": "owner" })),
        422,
        "validation-failed",
    );
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    assert_problem(
        post(&ada, json!({ "email": "x@example.com" })),
        400,
        "bad-request",
    );
    assert_problem(
        post(&ada, json!(["x@example.com", "member"])),
        400,
        "bad-request",
    );
    assert_problem(
        post(&eve, json!({ "email": "x@example.com", "role": "member" })),
        404,
        "not-found",
    );
}

/// An invitation past its lifetime is `invalid-code`, and is no longer
/// listed.
fn an_expired_invitation_is_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.tokens.invite_code_ttl_seconds = std::num::NonZeroU32::MIN;
    });
    let ada = app.account("ada@example.com");
    let org = app.own_organization(&ada);
    let bob = app.account("bob@example.com");
    app.invite(&ada, &org, "grace@example.com", "member");
    app.invite(&ada, &org, "bob@example.com", "member");
    let grace = app.invite_code("grace@example.com");
    let bobs = app.invite_code("bob@example.com");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_problem(
        app.sign_up_by_invite(&grace, json!({})),
        400,
        "invalid-code",
    );
    assert_problem(app.accept(&bob, &bobs), 400, "invalid-code");
    let listed: Value = app.pending_invites(&ada, &org);
    assert_eq!(listed, json!([]));
}

/// Invitations past the mail limit of an address are refused with 429 and
/// `Retry-After`, and nothing is mailed or stored.
fn invitations_count_toward_the_mail_limits(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.security.max_mails_per_recipient = std::num::NonZeroU32::MIN;
    });
    let ada = app.account("ada@example.com");
    let org = app.own_organization(&ada);
    let first = app.invite(&ada, &org, "grace@example.com", "member");
    let body = json!({ "email": "grace@example.com", "role": "admin" });
    let path = format!("/api/v1/organizations/{org}/invites");
    let res = app.as_(&ada, Method::POST, &path, Some(&body));
    let retry_after: u64 = header(&res, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(retry_after > 3000, "{retry_after}");
    assert_problem(res, 429, "too-many-attempts");
    let listed: Value = app.as_(&ada, Method::GET, &path, None).json().unwrap();
    assert_eq!(listed, json!([first]), "the first invitation stands");
    app.invite(&ada, &org, "alan@example.com", "member");
    let invites = app.wait_for_mails(3);
    let to_grace = invites
        .iter()
        .filter(|m| m["kind"] == "invite" && m["to"] == "grace@example.com")
        .count();
    assert_eq!(to_grace, 1);
}

/// Of concurrent sign-ups with one code, exactly one succeeds; the others
/// find it spent or the address taken.
fn concurrent_acceptances_of_one_code_succeed_once(app: TestApp) {
    let ada = app.account("ada@example.com");
    let org = app.own_organization(&ada);
    app.invite(&ada, &org, "grace@example.com", "member");
    let code = app.invite_code("grace@example.com");
    let start = std::sync::Barrier::new(8);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    app.sign_up_by_invite(&code, json!({})).status().as_u16()
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [201, 400, 409].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(app.roles(&ada, &org).len(), 2);
}

/// Owner, admin, member, non-member and platform administrator × every
/// organization endpoint: the status and `error_code` each gets.
fn the_role_matrix(backend: Backend) {
    // The matrix mails many invitations from one address.
    let app = TestApp::spawn_with(backend, |s| {
        s.security.max_mails_per_ip = std::num::NonZeroU32::new(1000).expect("not zero");
        s.security.max_mails_per_recipient = std::num::NonZeroU32::new(100).expect("not zero");
    });
    let owner = app.account("owner@example.com");
    let org = app.own_organization(&owner);
    let admin = app.joined(&owner, &org, "admin@example.com", "admin");
    let member = app.joined(&owner, &org, "member@example.com", "member");
    let target = app.joined(&owner, &org, "target@example.com", "member");
    let outsider = app.account("outsider@example.com");
    let root = app.platform_admin("root@example.com");
    let actors = [
        ("owner", &owner),
        ("admin", &admin),
        ("member", &member),
        ("outsider", &outsider),
        ("root", &root),
    ];
    let base = format!("/api/v1/organizations/{org}");
    // (what, expected status per actor in the order above, the request).
    type Request<'a> = Box<dyn Fn(&Account, &str) -> Response + 'a>;
    let forbidden = 403;
    let hidden = 404;
    let cases: Vec<(&str, [u16; 5], Request)> = vec![
        (
            "list own",
            [200, 200, 200, 200, 200],
            Box::new(|who, _| app.as_(who, Method::GET, "/api/v1/organizations", None)),
        ),
        (
            "create",
            [201, 201, 201, 201, 201],
            Box::new(|who, _| {
                let body = json!({ "name": "Side project" });
                app.as_(who, Method::POST, "/api/v1/organizations", Some(&body))
            }),
        ),
        (
            "show",
            [200, 200, 200, hidden, 200],
            Box::new(|who, _| app.as_(who, Method::GET, &base, None)),
        ),
        (
            "members",
            [200, 200, 200, hidden, 200],
            Box::new(|who, _| app.as_(who, Method::GET, &format!("{base}/members"), None)),
        ),
        (
            "rename",
            [200, 200, forbidden, hidden, 200],
            Box::new(|who, name| {
                let body = json!({ "name": format!("Renamed by {name}") });
                app.as_(who, Method::PATCH, &base, Some(&body))
            }),
        ),
        (
            "list invites",
            [200, 200, forbidden, hidden, 200],
            Box::new(|who, _| app.as_(who, Method::GET, &format!("{base}/invites"), None)),
        ),
        (
            "invite",
            [201, 201, forbidden, hidden, 201],
            Box::new(|who, name| {
                let body = json!({ "email": format!("by-{name}@example.com"), "role": "admin" });
                app.as_(who, Method::POST, &format!("{base}/invites"), Some(&body))
            }),
        ),
        (
            "revoke invite",
            [204, 204, forbidden, hidden, 204],
            Box::new(|who, name| {
                let invite = app.invite(
                    &owner,
                    &org,
                    &format!("revoke-{name}@example.com"),
                    "member",
                );
                let id = invite["id"].as_str().unwrap().to_owned();
                app.as_(who, Method::DELETE, &format!("{base}/invites/{id}"), None)
            }),
        ),
        (
            "promote a member",
            [200, 200, forbidden, hidden, 200],
            Box::new(|who, _| {
                let body = json!({ "role": "admin" });
                let path = format!("{base}/members/{}", target.id);
                app.as_(who, Method::PATCH, &path, Some(&body))
            }),
        ),
        (
            "make an owner",
            [200, forbidden, forbidden, hidden, 200],
            Box::new(|who, name| {
                let made = app.joined(&owner, &org, &format!("owner-{name}@example.com"), "member");
                let body = json!({ "role": "owner" });
                let path = format!("{base}/members/{}", made.id);
                app.as_(who, Method::PATCH, &path, Some(&body))
            }),
        ),
        (
            "remove a member",
            [204, 204, forbidden, hidden, 204],
            Box::new(|who, name| {
                let gone = app.joined(&owner, &org, &format!("gone-{name}@example.com"), "member");
                app.as_(
                    who,
                    Method::DELETE,
                    &format!("{base}/members/{}", gone.id),
                    None,
                )
            }),
        ),
        (
            "remove an unknown member",
            [hidden, hidden, forbidden, hidden, hidden],
            Box::new(|who, _| {
                let path = format!("{base}/members/{}", outsider_id());
                app.as_(who, Method::DELETE, &path, None)
            }),
        ),
        (
            "demote an owner",
            [200, forbidden, forbidden, hidden, 200],
            Box::new(|who, name| {
                let email = format!("demoted-{name}@example.com");
                let made = app.joined(&owner, &org, &email, "member");
                let path = format!("{base}/members/{}", made.id);
                let body = json!({ "role": "owner" });
                assert_eq!(
                    app.as_(&owner, Method::PATCH, &path, Some(&body)).status(),
                    200
                );
                let body = json!({ "role": "member" });
                app.as_(who, Method::PATCH, &path, Some(&body))
            }),
        ),
        (
            "remove an owner",
            [204, forbidden, forbidden, hidden, 204],
            Box::new(|who, name| {
                let made = app.joined(&owner, &org, &format!("co-{name}@example.com"), "member");
                let body = json!({ "role": "owner" });
                let path = format!("{base}/members/{}", made.id);
                assert_eq!(
                    app.as_(&owner, Method::PATCH, &path, Some(&body)).status(),
                    200
                );
                app.as_(who, Method::DELETE, &path, None)
            }),
        ),
        (
            "delete another organization",
            [204, forbidden, forbidden, hidden, 204],
            Box::new(|who, name| {
                let other = app.as_(
                    &owner,
                    Method::POST,
                    "/api/v1/organizations",
                    Some(&json!({ "name": format!("Doomed {name}") })),
                );
                let other: Value = other.json().unwrap();
                let id = other["id"].as_str().unwrap().to_owned();
                for (account, role) in [(&admin, "admin"), (&member, "member")] {
                    app.invite(&owner, &id, &account.email, role);
                    let code = app.invite_code(&account.email);
                    assert_eq!(app.accept(account, &code).status(), 200);
                }
                app.as_(
                    who,
                    Method::DELETE,
                    &format!("/api/v1/organizations/{id}"),
                    None,
                )
            }),
        ),
    ];
    for (what, expected, request) in &cases {
        for ((name, who), status) in actors.iter().zip(expected) {
            let res = request(who, name);
            assert_eq!(res.status().as_u16(), *status, "{what} as {name}");
            match status {
                403 => drop(assert_problem(res, 403, "insufficient-permissions")),
                404 => drop(assert_problem(res, 404, "not-found")),
                _ => {}
            }
        }
    }
    // The members of the organization now, and who may still see it.
    let roles = app.roles(&owner, &org);
    assert!(roles.contains(&("target@example.com".to_owned(), "admin".to_owned())));
    let gone: Vec<&str> = roles
        .iter()
        .filter_map(|(email, _)| email.strip_prefix("gone-"))
        .collect();
    assert_eq!(
        gone,
        ["member@example.com", "outsider@example.com"],
        "only the refused removals left their targets"
    );
}

/// A random id that names no user.
fn outsider_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Nobody removes or demotes the last owner; a member may leave; two
/// owners demoting each other at once leave one owner.
fn the_last_owner_stays(app: TestApp) {
    let ada = app.account("ada@example.com");
    let org = app.own_organization(&ada);
    let base = format!("/api/v1/organizations/{org}/members");
    let demote = json!({ "role": "admin" });
    assert_problem(
        app.as_(
            &ada,
            Method::PATCH,
            &format!("{base}/{}", ada.id),
            Some(&demote),
        ),
        409,
        "last-owner",
    );
    assert_problem(
        app.as_(&ada, Method::DELETE, &format!("{base}/{}", ada.id), None),
        409,
        "last-owner",
    );
    let member = app.joined(&ada, &org, "member@example.com", "member");
    assert_eq!(
        app.as_(
            &member,
            Method::DELETE,
            &format!("{base}/{}", member.id),
            None
        )
        .status(),
        204,
        "a member leaves"
    );
    assert_problem(
        app.as_(
            &member,
            Method::GET,
            &format!("/api/v1/organizations/{org}"),
            None,
        ),
        404,
        "not-found",
    );
    let bad_role = app.as_(
        &ada,
        Method::PATCH,
        &format!("{base}/{}", ada.id),
        Some(&json!({ "role": "root" })),
    );
    assert_problem(bad_role, 422, "validation-failed");

    let grace = app.joined(&ada, &org, "grace@example.com", "member");
    let promote = json!({ "role": "owner" });
    let res = app.as_(
        &ada,
        Method::PATCH,
        &format!("{base}/{}", grace.id),
        Some(&promote),
    );
    assert_eq!(res.status(), 200);
    let grace_member: Value = res.json().unwrap();
    assert_eq!(grace_member["role"], "owner");
    assert_eq!(grace_member["email"], "grace@example.com");
    assert_eq!(grace_member["status"], "active");
    let pair = [&ada, &grace];
    let start = std::sync::Barrier::new(2);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..2)
            .map(|i| {
                let (app, start, pair, base, demote) = (&app, &start, &pair, &base, &demote);
                scope.spawn(move || {
                    start.wait();
                    let path = format!("{base}/{}", pair[1 - i].id);
                    app.as_(pair[i], Method::PATCH, &path, Some(demote))
                        .status()
                        .as_u16()
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let owners = app
        .roles(&ada, &org)
        .into_iter()
        .filter(|(_, role)| role == "owner")
        .count();
    assert_eq!(owners, 1, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 403, 409].contains(s)),
        "the other is refused: {statuses:?}"
    );
}

/// Forward-auth tells the organization a caller acts for, and the role:
/// the oldest membership by default, the one named otherwise; refusals
/// for names the caller may not use; changes show on the next request.
fn verify_reports_the_organization_and_role(app: TestApp) {
    let ada = app.account("ada@example.com");
    let org = app.own_organization(&ada);
    let grace = app.joined(&ada, &org, "grace@example.com", "member");
    let eve = app.account("eve@example.com");
    let root = app.platform_admin("root@example.com");
    let unknown = uuid::Uuid::now_v7().to_string();

    let res = app.verify(&grace, None);
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-organization-id"), Some(org.as_str()));
    assert_eq!(header(&res, "x-organization-role"), Some("member"));
    assert_eq!(header(&res, "x-user-id"), Some(grace.id.as_str()));
    assert_eq!(header(&res, "x-user-email"), Some("grace@example.com"));
    assert_eq!(header(&res, "x-auth-method"), Some("jwt"));
    assert!(header(&res, "x-session-id").is_some());
    let body: Value = res.json().unwrap();
    assert_eq!(body["organization_id"], org.as_str());
    assert_eq!(body["role"], "member");
    assert_eq!(body["auth_method"], "jwt");

    // Ada's second organization, named; her oldest by default.
    let second: Value = app
        .as_(
            &ada,
            Method::POST,
            "/api/v1/organizations",
            Some(&json!({ "name": "Second" })),
        )
        .json()
        .unwrap();
    let second = second["id"].as_str().unwrap();
    let res = app.verify(&ada, Some(second));
    assert_eq!(header(&res, "x-organization-id"), Some(second));
    assert_eq!(header(&res, "x-organization-role"), Some("owner"));
    let res = app.verify(&ada, None);
    assert_eq!(header(&res, "x-organization-id"), Some(org.as_str()));

    // Naming an organization one is not in.
    assert_problem(
        app.verify(&eve, Some(&org)),
        403,
        "insufficient-permissions",
    );
    assert_problem(
        app.verify(&eve, Some(&unknown)),
        403,
        "insufficient-permissions",
    );
    assert_problem(app.verify(&eve, Some("acme")), 400, "bad-request");
    let twice = app
        .get("/api/v1/auth/verify")
        .bearer_auth(&ada.token)
        .header("X-Organization-Id", org.as_str())
        .header("X-Organization-Id", org.as_str())
        .send()
        .unwrap();
    assert_problem(twice, 400, "bad-request");
    assert_problem(
        app.call(Method::GET, "/api/v1/auth/me", &eve.token, Some(&org), None),
        403,
        "insufficient-permissions",
    );

    // A platform administrator may name any organization, and has no role
    // there; an unknown one is not found.
    let res = app.verify(&root, Some(&org));
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-organization-id"), Some(org.as_str()));
    assert_eq!(header(&res, "x-organization-role"), None);
    let body: Value = res.json().unwrap();
    assert_eq!(body["role"], Value::Null);
    assert_problem(app.verify(&root, Some(&unknown)), 404, "not-found");
    assert_problem(
        app.as_(
            &root,
            Method::GET,
            &format!("/api/v1/organizations/{unknown}"),
            None,
        ),
        404,
        "not-found",
    );

    // A change of role shows on the next request; so does leaving.
    let path = format!("/api/v1/organizations/{org}/members/{}", grace.id);
    let promote = json!({ "role": "admin" });
    assert_eq!(
        app.as_(&ada, Method::PATCH, &path, Some(&promote)).status(),
        200
    );
    let res = app.verify(&grace, Some(&org));
    assert_eq!(header(&res, "x-organization-role"), Some("admin"));
    assert_eq!(app.as_(&ada, Method::DELETE, &path, None).status(), 204);
    assert_problem(
        app.verify(&grace, Some(&org)),
        403,
        "insufficient-permissions",
    );
    let res = app.verify(&grace, None);
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "x-organization-id"),
        None,
        "no organization left"
    );
    let body: Value = res.json().unwrap();
    assert_eq!(body["organization_id"], Value::Null);
}

/// Deleting an organization removes its memberships and invitations; its
/// members' accounts stay.
fn deleting_an_organization_keeps_the_accounts(app: TestApp) {
    let ada = app.account("ada@example.com");
    let org = app.own_organization(&ada);
    let grace = app.joined(&ada, &org, "grace@example.com", "admin");
    app.invite(&ada, &org, "alan@example.com", "member");
    let pending = app.invite_code("alan@example.com");
    let path = format!("/api/v1/organizations/{org}");
    assert_problem(
        app.as_(&grace, Method::DELETE, &path, None),
        403,
        "insufficient-permissions",
    );
    assert_eq!(app.as_(&ada, Method::DELETE, &path, None).status(), 204);
    assert_problem(app.as_(&ada, Method::GET, &path, None), 404, "not-found");
    assert_problem(app.as_(&ada, Method::DELETE, &path, None), 404, "not-found");
    for who in [&ada, &grace] {
        let me = app.as_(who, Method::GET, "/api/v1/auth/me", None);
        assert_eq!(me.status(), 200, "{} stays", who.email);
        let list: Value = app
            .as_(who, Method::GET, "/api/v1/organizations", None)
            .json()
            .unwrap();
        assert_eq!(list, json!([]));
    }
    assert_problem(
        app.sign_up_by_invite(&pending, json!({})),
        400,
        "invalid-code",
    );
}

/// Bad input on the organization endpoints: malformed ids are not found,
/// bodies are checked, names are bounded.
fn organization_input_is_checked(app: TestApp) {
    let ada = app.account("ada@example.com");
    let org = app.own_organization(&ada);
    assert_problem(
        app.as_(&ada, Method::GET, "/api/v1/organizations/not-an-id", None),
        404,
        "not-found",
    );
    assert_problem(
        app.as_(
            &ada,
            Method::PATCH,
            &format!("/api/v1/organizations/{org}/members/x"),
            Some(&json!({ "role": "admin" })),
        ),
        404,
        "not-found",
    );
    let long = "x".repeat(101);
    for body in [json!({ "name": "  " }), json!({ "name": long })] {
        assert_problem(
            app.as_(&ada, Method::POST, "/api/v1/organizations", Some(&body)),
            422,
            "validation-failed",
        );
    }
    assert_problem(
        app.as_(
            &ada,
            Method::POST,
            "/api/v1/organizations",
            Some(&json!(["Acme"])),
        ),
        400,
        "bad-request",
    );
    assert_problem(
        app.as_(
            &ada,
            Method::PATCH,
            &format!("/api/v1/organizations/{org}"),
            Some(&json!({ "name": "A", "owner": "me" })),
        ),
        400,
        "bad-request",
    );
    assert_problem(
        app.post("/api/v1/organizations")
            .json(&json!({ "name": "A" }))
            .send()
            .unwrap(),
        401,
        "missing-authorization",
    );
    assert_problem(
        app.as_(
            &ada,
            Method::POST,
            "/api/v1/organizations/invites/accept",
            Some(&json!({})),
        ),
        400,
        "bad-request",
    );
    let res = app.as_(
        &ada,
        Method::POST,
        "/api/v1/organizations",
        Some(&json!({ "name": " Acme " })),
    );
    assert_eq!(res.status(), 201);
    let created: Value = res.json().unwrap();
    assert_eq!(created["name"], "Acme");
    assert_eq!(created["role"], "owner");
    let renamed = app.as_(
        &ada,
        Method::PATCH,
        &format!("/api/v1/organizations/{}", created["id"].as_str().unwrap()),
        Some(&json!({ "name": "Acme Ltd" })),
    );
    let renamed: Value = renamed.json().unwrap();
    assert_eq!(renamed["name"], "Acme Ltd");
    assert_eq!(renamed["id"], created["id"]);
}

on_both_stores!(
    a_colleague_signs_up_by_invitation_and_logs_in,
    an_existing_account_accepts_an_invitation,
    invitation_errors,
    concurrent_acceptances_of_one_code_succeed_once,
    the_last_owner_stays,
    verify_reports_the_organization_and_role,
    deleting_an_organization_keeps_the_accounts,
    organization_input_is_checked,
);
on_both_backends!(
    an_expired_invitation_is_refused,
    invitations_count_toward_the_mail_limits,
    the_role_matrix,
);
