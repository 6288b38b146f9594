use std::{sync::Barrier, thread};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, assert_problem},
    on_both_backends, on_both_stores,
};

/// With no grace period (`tokens.refresh_reuse_grace_seconds = 0`).
fn strict(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| s.tokens.refresh_reuse_grace_seconds = 0)
}

fn refresh_rotates_and_detects_reuse(backend: Backend) {
    let app = strict(backend);
    let (_, first) = app.logged_in("ada@example.com");
    let res = app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": first }));
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let t: Value = res.json().unwrap();
    let second = t["refresh_token"].as_str().unwrap().to_owned();
    let access = t["access_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(t["user"]["email"], "ada@example.com");
    assert_eq!(app.get_auth("/api/v1/auth/me", &access).status(), 200);
    // Presenting the spent token again revokes the whole session.
    let res = app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": first }));
    assert_problem(res, 401, "invalid-token");
    let res = app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": second }));
    assert_problem(res, 401, "invalid-token");
    assert_problem(
        app.get_auth("/api/v1/auth/me", &access),
        401,
        "invalid-token",
    );
    let res = app.post_json(
        "/api/v1/auth/refresh",
        &json!({ "refresh_token": "unknown" }),
    );
    assert_problem(res, 401, "invalid-token");
    let res = app.post_json("/api/v1/auth/refresh", &json!({}));
    assert_problem(res, 400, "bad-request");
}

fn without_grace_concurrent_refreshes_have_one_winner(backend: Backend) {
    let app = strict(backend);
    let (_, refresh) = app.logged_in("ada@example.com");
    let barrier = Barrier::new(6);
    let answers: Vec<(u16, Value)> = thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let body = json!({ "refresh_token": refresh });
                    let res = app.post_json("/api/v1/auth/refresh", &body);
                    (res.status().as_u16(), res.json::<Value>().unwrap())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
    // The losers presented a spent token: with no grace period that is
    // reuse, so the session, and with it the winner's new tokens, is revoked.
    let (_, winner) = answers.iter().find(|(s, _)| *s == 200).unwrap();
    let res = app.get_auth("/api/v1/auth/me", winner["access_token"].as_str().unwrap());
    assert_problem(res, 401, "invalid-token");
}

fn forged_and_malformed_tokens_are_invalid(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    for claim in ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "amr"] {
        assert!(claims.get(claim).is_some(), "claim {claim}");
    }
    assert_eq!(claims["amr"], json!(["pwd"]), "a password login");
    let me: Value = app.get_auth("/api/v1/auth/me", &token).json().unwrap();
    assert_eq!(me["mfa_enabled"], false);
    let verify = app.get_auth("/api/v1/auth/verify", &token);
    assert_eq!(verify.headers()["x-auth-mfa"], "false");
    assert_eq!(verify.json::<Value>().unwrap()["mfa"], false);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    claims["sub"] = json!(uuid::Uuid::now_v7().to_string());
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", parts[1]);
    let bad_sig = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode([7u8; 64])
    );
    for bad in [
        tampered.as_str(),
        alg_none.as_str(),
        bad_sig.as_str(),
        "garbage",
        "a.b.c",
    ] {
        assert_problem(app.get_auth("/api/v1/auth/me", bad), 401, "invalid-token");
    }
    let res = app
        .get("/api/v1/auth/me")
        .header("authorization", format!("Basic {token}"))
        .send()
        .unwrap();
    assert_problem(res, 401, "invalid-token");
    assert_problem(
        app.get("/api/v1/auth/me").send().unwrap(),
        401,
        "missing-authorization",
    );
}

fn jwks_publishes_the_signing_key(app: TestApp) {
    let (token, _) = app.logged_in("ada@example.com");
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let res = app.get("/.well-known/jwks.json").send().unwrap();
    assert_eq!(res.status(), 200);
    let jwks: Value = res.json().unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], header["kid"]);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert!(keys[0].get("d").is_none(), "no private part");
}

fn expired_access_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.tokens.access_ttl_seconds = std::num::NonZeroU32::MIN
    });
    let (token, refresh) = app.logged_in("ada@example.com");
    thread::sleep(std::time::Duration::from_millis(2100));
    assert_problem(
        app.get_auth("/api/v1/auth/me", &token),
        401,
        "token-expired",
    );
    let res = app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": refresh }));
    assert_eq!(
        res.status(),
        200,
        "the refresh token outlives the access token"
    );
}

fn expired_refresh_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.tokens.refresh_ttl_seconds = std::num::NonZeroU32::MIN
    });
    let (_, refresh) = app.logged_in("ada@example.com");
    thread::sleep(std::time::Duration::from_millis(1500));
    let res = app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": refresh }));
    assert_problem(res, 401, "token-expired");
}

#[test]
fn expiry_sqlite() {
    expired_access_tokens_are_refused(Backend::Sqlite);
    expired_refresh_tokens_are_refused(Backend::Sqlite);
}

#[test]
fn expiry_postgres() {
    expired_access_tokens_are_refused(Backend::Postgres);
    expired_refresh_tokens_are_refused(Backend::Postgres);
}

on_both_backends!(
    refresh_rotates_and_detects_reuse,
    without_grace_concurrent_refreshes_have_one_winner,
);

on_both_stores!(
    forged_and_malformed_tokens_are_invalid,
    jwks_publishes_the_signing_key,
);

#[test]
fn other_signing_algorithms_are_selectable() {
    for (alg, kty) in [("ES256", Some("EC")), ("HS256", None)] {
        let app = TestApp::spawn_with(Backend::Sqlite, |s| {
            s.tokens.algorithm = alg.parse().unwrap()
        });
        let (token, _) = app.logged_in("ada@example.com");
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg);
        assert_eq!(app.get_auth("/api/v1/auth/me", &token).status(), 200);
        let jwks: Value = app
            .get("/.well-known/jwks.json")
            .send()
            .unwrap()
            .json()
            .unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        match kty {
            Some(kty) => {
                assert_eq!(keys[0]["kty"], kty);
                assert_eq!(keys[0]["kid"], header["kid"]);
            }
            None => assert!(keys.is_empty(), "a symmetric key is never published"),
        }
    }
}
