//! Mail delivery in the background: a transport that fails never fails a
//! request, and the mail arrives once the transport works again.

use serde_json::json;

use crate::{
    helpers::{Backend, PASSWORD, TestApp, assert_problem},
    on_both_backends,
};

fn signup_answers_while_the_mailbox_is_broken_and_the_mail_follows(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        // A file where the mailbox's directory should be: every send fails.
        let blocker = s.mail.file.with_file_name("blocked");
        std::fs::write(&blocker, "not a directory").unwrap();
        s.mail.file = blocker.join("mailbox.jsonl");
    });
    let blocker = app.mailbox.parent().unwrap().to_owned();

    let user = app.signup("ada@example.com", json!({}));
    assert_eq!(user["status"], "pending_validation");
    assert!(!app.mailbox.exists(), "nothing could be written yet");
    // The account exists: signing up again is refused.
    let again = app.post_json(
        "/api/v1/auth/signup",
        &json!({
            "email": "ada@example.com", "password": PASSWORD,
            "first_name": "Ada", "last_name": "Lovelace",
        }),
    );
    assert_problem(again, 409, "user-already-exists");

    std::fs::remove_file(&blocker).unwrap();
    let code = app.last_code("ada@example.com", "validate-email");
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": code }));
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(app.mails().len(), 1);
}

fn mails_name_the_product_and_link_to_the_client(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.app.name = "Engines".into();
        s.app.public_url = Some("https://app.example.com/".to_owned().try_into().unwrap());
    });
    app.signup("ada@example.com", json!({}));
    let code = app.last_code("ada@example.com", "validate-email");
    let mail = app.wait_for_mails(1).remove(0);
    assert_eq!(mail["subject"], "Confirm your e-mail address for Engines");
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains(&code), "{text}");
    assert!(
        text.contains(&format!("https://app.example.com/validate?code={code}")),
        "{text}"
    );
    // Opening the link spends nothing: the code still validates.
    let res = app.post_json("/api/v1/auth/validate", &json!({ "code": code }));
    assert!(res.status().is_success(), "{}", res.status());
}

on_both_backends!(
    signup_answers_while_the_mailbox_is_broken_and_the_mail_follows,
    mails_name_the_product_and_link_to_the_client,
);
