//! What limits the mails authd sends: a resent validation code voids the
//! older ones.

use serde_json::json;

use crate::{
    helpers::{TestApp, assert_problem},
    on_both_stores,
};

fn resend_voids_the_older_validation_codes(app: TestApp) {
    app.signup("ada@example.com", json!({}));
    let first = app.last_code("ada@example.com", "validate-email");
    let res = app.post_json(
        "/api/v1/auth/validate/resend",
        &json!({ "email": "ada@example.com" }),
    );
    assert_eq!(res.status(), 202);
    app.wait_for_mails(2);
    let newest = app.last_code("ada@example.com", "validate-email");
    assert_ne!(first, newest);
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": first }));
    assert_problem(res, 400, "invalid-code");
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": newest }));
    assert_eq!(res.status(), 200);
    let user: serde_json::Value = res.json().unwrap();
    assert_eq!(user["status"], "active");
}

on_both_stores!(resend_voids_the_older_validation_codes);
