//! Rotating the signing key, as docs/key-rotation.md tells it, against the
//! binary restarted with each step's settings: no valid token is refused
//! before the old key is dropped, and a resource server that reads only
//! the JWKS verifies tokens of both keys during the overlap.

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::{
    cli::{Served, authd, run},
    helpers::PASSWORD,
};

/// `authd keys generate --out FILE`: the new key's kid.
fn generate(dir: &Path, file: &str) -> String {
    let out = run(authd(dir).args(["keys", "generate", "--out", file]));
    let line = String::from_utf8(out.stdout).expect("UTF-8");
    line.split_whitespace()
        .find_map(|word| word.strip_prefix("kid="))
        .expect("kid=… printed")
        .to_owned()
}

/// `authd keys list` with `envs`: its lines.
fn list(dir: &Path, envs: &[(&str, &str)]) -> Vec<String> {
    let out = run(authd(dir).args(["keys", "list"]).envs(envs.iter().copied()));
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn jwks(client: &Client, served: &Served) -> (JwkSet, Option<String>) {
    let res = client
        .get(format!("{}/.well-known/jwks.json", served.base))
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    let cache = res
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (res.json().unwrap(), cache)
}

fn kids(set: &JwkSet) -> Vec<String> {
    set.keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect()
}

/// A resource server's check: the key the token names, from the JWKS, with
/// the issuer and audience authd writes.
fn resource_server_accepts(set: &JwkSet, token: &str) -> bool {
    let Some(kid) = decode_header(token).ok().and_then(|h| h.kid) else {
        return false;
    };
    let Some(jwk) = set.find(&kid) else {
        return false;
    };
    let key = DecodingKey::from_jwk(jwk).expect("a usable JWK");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&["authd"]);
    validation.set_audience(&["authd"]);
    decode::<Value>(token, &key, &validation).is_ok()
}

fn pairs<'a>(envs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    envs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn kid_of(token: &str) -> String {
    decode_header(token).unwrap().kid.unwrap()
}

fn me_status(client: &Client, served: &Served, token: &str) -> u16 {
    client
        .get(format!("{}/api/v1/auth/me", served.base))
        .bearer_auth(token)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn login(client: &Client, served: &Served) -> String {
    let t: Value = client
        .post(format!("{}/api/v1/auth/login", served.base))
        .json(&json!({ "username": "ada@example.com", "password": PASSWORD }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    t["access_token"].as_str().expect("access token").to_owned()
}

#[test]
fn a_signing_key_rotates_without_refusing_a_valid_token() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let client = Client::new();
    let old = generate(dir, "old.pem");
    let new = generate(dir, "new.pem");
    let step = |signer: &str, verifier: Option<&str>| {
        let mut envs = vec![("AUTHD__TOKENS__PRIVATE_KEY_FILE", signer.to_owned())];
        if let Some(v) = verifier {
            envs.push(("AUTHD__TOKENS__VERIFICATION_KEY_FILES", v.to_owned()));
        }
        envs
    };
    let start = |envs: &[(&'static str, String)]| Served::start(dir, &pairs(envs));

    // Before: the old key signs alone.
    let before = step("old.pem", None);
    let served = start(&before);
    let res = client
        .post(format!("{}/api/v1/auth/signup", served.base))
        .json(&json!({ "email": "ada@example.com", "password": PASSWORD,
                       "first_name": "Ada", "last_name": "Lovelace" }))
        .send()
        .unwrap();
    assert_eq!(res.status(), 201);
    let mailbox = std::fs::read_to_string(dir.join("data/mailbox.jsonl")).unwrap();
    let code = serde_json::from_str::<Value>(mailbox.lines().last().unwrap()).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = client
        .post(format!("{}/api/v1/auth/validate", served.base))
        .json(&json!({ "code": code }))
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    let old_token = login(&client, &served);
    assert_eq!(kid_of(&old_token), old);
    let (set, cache) = jwks(&client, &served);
    assert_eq!(kids(&set), [old.as_str()]);
    assert_eq!(cache.as_deref(), Some("public, max-age=300"));
    for jwk in &set.keys {
        assert_eq!(
            jwk.common.public_key_use,
            Some(jsonwebtoken::jwk::PublicKeyUse::Signature)
        );
        assert!(jwk.common.key_algorithm.is_some(), "alg is published");
    }
    served.stop();

    // 1. Publish the new key: it verifies, the old one still signs.
    let publish = step("old.pem", Some("new.pem"));
    let served = start(&publish);
    let (set, _) = jwks(&client, &served);
    assert_eq!(kids(&set), [old.clone(), new.clone()]);
    assert_eq!(me_status(&client, &served, &old_token), 200);
    assert_eq!(kid_of(&login(&client, &served)), old);
    served.stop();

    // 2. The new key signs; the old one verifies what it signed.
    let switch = step("new.pem", Some("old.pem"));
    let listed = list(dir, &pairs(&switch));
    assert!(
        listed[0].starts_with("signs") && listed[0].contains(&new),
        "{listed:?}"
    );
    assert!(
        listed[1].starts_with("verifies") && listed[1].contains(&old),
        "{listed:?}"
    );
    let served = start(&switch);
    assert_eq!(
        me_status(&client, &served, &old_token),
        200,
        "no valid token refused"
    );
    let new_token = login(&client, &served);
    assert_eq!(kid_of(&new_token), new);
    let (set, _) = jwks(&client, &served);
    assert_eq!(kids(&set), [new.clone(), old.clone()]);
    assert!(resource_server_accepts(&set, &old_token));
    assert!(resource_server_accepts(&set, &new_token));
    served.stop();

    // 3. Once every old token has expired, drop the old key.
    let after = step("new.pem", None);
    let served = start(&after);
    let (set, _) = jwks(&client, &served);
    assert_eq!(kids(&set), [new.as_str()]);
    assert!(!resource_server_accepts(&set, &old_token));
    assert!(resource_server_accepts(&set, &new_token));
    let refused = client
        .get(format!("{}/api/v1/auth/me", served.base))
        .bearer_auth(&old_token)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().unwrap();
    assert_eq!(body["error_code"], "invalid-token");
    assert_eq!(me_status(&client, &served, &new_token), 200);
    served.stop();
}
