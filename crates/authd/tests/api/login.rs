use serde_json::{Value, json};

use crate::{
    helpers::{PASSWORD, TestApp, assert_problem},
    on_both_stores,
};

fn login_by_email_username_or_phone(app: TestApp) {
    app.active_user(
        "ada@example.com",
        json!({ "username": "ada", "phone": "+442071234567" }),
    );
    for id in [
        "ada@example.com",
        " ADA@Example.com",
        "ada",
        "Ada",
        "+442071234567",
    ] {
        let t = app.login(id, PASSWORD);
        assert_eq!(t["token_type"], "Bearer");
        assert_eq!(t["expires_in"], 900);
        assert_eq!(t["refresh_expires_in"], 2_592_000);
        assert_eq!(t["user"]["email"], "ada@example.com");
        assert_eq!(t["access_token"].as_str().unwrap().split('.').count(), 3);
        assert!(t["refresh_token"].as_str().unwrap().len() >= 40);
    }
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "email": "ada@example.com", "password": PASSWORD }),
    );
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
}

fn wrong_password_and_unknown_user_look_the_same(app: TestApp) {
    app.active_user("ada@example.com", json!({}));
    let strip = |mut v: Value| {
        let o = v.as_object_mut().unwrap();
        o.remove("trace_id");
        o.remove("timestamp");
        v
    };
    let wrong = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ada@example.com", "password": "not it at all" }),
    );
    let wrong = strip(assert_problem(wrong, 401, "bad-credentials"));
    let unknown = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "eve@example.com", "password": "not it at all" }),
    );
    let unknown = strip(assert_problem(unknown, 401, "bad-credentials"));
    let unparsable = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "no such thing!", "password": "x" }),
    );
    let unparsable = strip(assert_problem(unparsable, 401, "bad-credentials"));
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, unparsable);
    assert_eq!(wrong["detail"], "Invalid username or password");
}

fn credentials_are_required(app: TestApp) {
    for body in [
        json!({ "username": "ada" }),
        json!({ "password": PASSWORD }),
        json!({ "username": "", "password": "" }),
    ] {
        let res = app.post_json("/api/v1/auth/login", &body);
        let problem = assert_problem(res, 400, "bad-request");
        assert_eq!(problem["detail"], "Username and password are required");
    }
}

fn pending_accounts_get_a_resend_code_only_with_the_right_password(app: TestApp) {
    app.signup("ada@example.com", json!({}));
    let body = assert_problem(app.guess("ada@example.com"), 401, "bad-credentials");
    assert!(body.get("extra_attributes").is_none());
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ada@example.com", "password": PASSWORD }),
    );
    let body = assert_problem(res, 401, "account-not-validated");
    assert!(
        body["extra_attributes"]["resend_code"]
            .as_str()
            .unwrap()
            .len()
            >= 40
    );
}

fn repeated_failures_are_throttled(app: TestApp) {
    app.active_user("ada@example.com", json!({}));
    for _ in 0..5 {
        app.failed_guess("ada@example.com");
    }
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ADA@example.com", "password": PASSWORD }),
    );
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_problem(res, 429, "too-many-attempts");
    // Another account from the same address is not locked by these five.
    app.active_user("bob@example.com", json!({}));
    app.login("bob@example.com", PASSWORD);
}

fn failures_from_one_address_are_throttled(app: TestApp) {
    app.active_user("ada@example.com", json!({}));
    for i in 0..20 {
        app.failed_guess(&format!("user{i}@example.com"));
    }
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ada@example.com", "password": PASSWORD }),
    );
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "too-many-attempts");
}

fn deactivated_accounts_are_refused_after_the_password(app: TestApp) {
    let user = app.active_user("ada@example.com", json!({}));
    app.deactivate(user["id"].as_str().unwrap());
    app.failed_guess("ada@example.com");
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "ada@example.com", "password": PASSWORD }),
    );
    assert_problem(res, 401, "inactive-account");
}

on_both_stores!(
    login_by_email_username_or_phone,
    wrong_password_and_unknown_user_look_the_same,
    credentials_are_required,
    pending_accounts_get_a_resend_code_only_with_the_right_password,
    repeated_failures_are_throttled,
    failures_from_one_address_are_throttled,
    deactivated_accounts_are_refused_after_the_password,
);

fn empty_username_falls_back_to_email(app: TestApp) {
    app.active_user("ada@example.com", json!({}));
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "", "email": "ada@example.com", "password": PASSWORD }),
    );
    assert_eq!(res.status(), 200);
}

pub(crate) fn concurrent_guesses_never_exceed_the_limit(app: TestApp) {
    app.active_user("ada@example.com", json!({}));
    let barrier = std::sync::Barrier::new(12);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    app.guess("ada@example.com").status().as_u16()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        7,
        "{statuses:?}"
    );
}

fn one_account_has_one_counter_whatever_the_identifier(app: TestApp) {
    app.active_user(
        "ada@example.com",
        json!({ "username": "ada", "phone": "+442071234567" }),
    );
    for id in [
        "ada@example.com",
        "ada",
        "+442071234567",
        "ADA",
        "Ada@Example.com",
    ] {
        app.failed_guess(id);
    }
    let res = app.post_json(
        "/api/v1/auth/login",
        &json!({ "username": "+442071234567", "password": PASSWORD }),
    );
    assert_problem(res, 429, "too-many-attempts");
}

fn a_success_clears_the_account_counter(app: TestApp) {
    app.active_user("ada@example.com", json!({}));
    for _ in 0..4 {
        app.failed_guess("ada@example.com");
    }
    app.login("ada@example.com", PASSWORD);
    for _ in 0..4 {
        app.failed_guess("ada@example.com");
    }
    app.login("ada@example.com", PASSWORD);
}

on_both_stores!(
    empty_username_falls_back_to_email,
    concurrent_guesses_never_exceed_the_limit,
    one_account_has_one_counter_whatever_the_identifier,
    a_success_clears_the_account_counter,
);
