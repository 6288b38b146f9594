//! A real nginx in front of an application, asking authd who each caller
//! is (`auth_request`), with the configuration of `docs/forward-auth/`.
//! The application is a second nginx server that answers with the
//! headers it received.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::blocking::{Client, RequestBuilder};
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

/// The documented front server, as the docs give it.
const FRONT: &str = include_str!("../../../../docs/forward-auth/nginx.conf");

/// nginx: `AUTHD_TEST_NGINX`, or `nginx` on `PATH`, or Debian's place.
fn nginx_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("AUTHD_TEST_NGINX") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file());
    on_path.unwrap_or_else(|| {
        panic!(
            "the forward-auth test needs nginx with its auth_request module: \
             `apt-get install nginx` on Debian or Ubuntu, or set AUTHD_TEST_NGINX \
             to its binary"
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// An nginx running in the foreground until dropped.
struct Nginx {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Nginx {
    fn start(authd_port: u16) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (front, app) = (free_port(), free_port());
        let front_server = FRONT
            .replace("listen 80;", &format!("listen 127.0.0.1:{front};"))
            .replace("authd:8080", &format!("127.0.0.1:{authd_port}"))
            .replace("app:3000", &format!("127.0.0.1:{app}"));
        let d = dir.path().display();
        let config = format!(
            "daemon off;\n\
             master_process off;\n\
             pid {d}/nginx.pid;\n\
             error_log {d}/error.log info;\n\
             events {{}}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
               # The application: answers with the headers it was sent.\n\
               server {{\n\
                 listen 127.0.0.1:{app};\n\
                 location / {{\n\
                   default_type application/json;\n\
                   return 200 '{{\"user_id\":\"$http_x_user_id\",\"email\":\"$http_x_user_email\",\
             \"session_id\":\"$http_x_session_id\",\"method\":\"$http_x_auth_method\",\"mfa\":\"$http_x_auth_mfa\",\
             \"organization\":\"$http_x_organization_id\",\"role\":\"$http_x_organization_role\",\
             \"authorization\":\"$http_authorization\",\"api_key\":\"$http_x_api_key\"}}';\n\
                 }}\n\
               }}\n\
               {front_server}\n\
             }}\n"
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, config).expect("nginx.conf written");
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let nginx = Self {
            child,
            base: format!("http://127.0.0.1:{front}"),
            dir,
        };
        nginx.wait_until_listening(front);
        nginx
    }

    fn wait_until_listening(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    fn get(&self, client: &Client, path: &str) -> RequestBuilder {
        client.get(format!("{}{path}", self.base))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

fn echoed(request: RequestBuilder) -> Value {
    let res = request.send().expect("request sent");
    assert_eq!(res.status(), 200);
    res.json().expect("the application's echo")
}

/// The documented configuration lets a token or a key through with the
/// caller's headers, and nothing else: no credential, a bad one, another
/// organization's; headers a client forges are replaced.
#[test]
fn nginx_guards_an_application_with_authd() {
    let app = TestApp::spawn(Backend::Sqlite);
    let nginx = Nginx::start(port_of(&app.base));
    let client = Client::new();
    let (token, _) = app.logged_in("ada@example.com");
    let me: Value = app.get_auth("/api/v1/auth/me", &token).json().unwrap();
    let id = me["id"].as_str().unwrap();
    let orgs: Value = app
        .get_auth("/api/v1/organizations", &token)
        .json()
        .unwrap();
    let org = orgs[0]["id"].as_str().unwrap();

    let by_token = echoed(
        nginx
            .get(&client, "/anything?x=1")
            .bearer_auth(&token)
            .header("X-User-Id", "forged")
            .header("X-Organization-Role", "owner-of-everything"),
    );
    assert_eq!(by_token["user_id"], id, "the forged id was replaced");
    assert_eq!(by_token["email"], "ada@example.com");
    assert_eq!(by_token["method"], "jwt");
    assert_eq!(by_token["mfa"], "false");
    assert!(
        by_token["session_id"]
            .as_str()
            .is_some_and(|s| s.len() == 36)
    );
    assert_eq!(by_token["organization"], org);
    assert_eq!(by_token["role"], "owner");
    assert_eq!(by_token["authorization"], "", "the token stays behind");

    let created: Value = app
        .post("/api/v1/auth/keys")
        .bearer_auth(&token)
        .json(&serde_json::json!({ "name": "proxy test" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let key = created["api_key"].as_str().unwrap();
    let by_key = echoed(
        nginx
            .get(&client, "/")
            .header("X-API-Key", key)
            .header("X-Session-Id", "forged")
            .header("X-User-Email", "root@example.com")
            .header("X-Auth-Method", "jwt")
            .header("X-Auth-Mfa", "true"),
    );
    assert_eq!(by_key["email"], "ada@example.com");
    assert_eq!(
        by_key["mfa"], "false",
        "a key never passes for a second factor"
    );
    assert_eq!(by_key["user_id"], id);
    assert_eq!(by_key["method"], "api_key");
    assert_eq!(
        by_key["session_id"], "",
        "no session for a key, whatever was sent"
    );
    assert_eq!(by_key["api_key"], "", "the key stays behind");

    let refused = [
        (nginx.get(&client, "/"), 401),
        (nginx.get(&client, "/").header("X-User-Id", id), 401),
        (nginx.get(&client, "/").bearer_auth("not.a.token"), 401),
        (
            nginx.get(&client, "/").header("X-API-Key", "ak_mistyped"),
            401,
        ),
        (
            nginx
                .get(&client, "/")
                .bearer_auth(&token)
                .header("X-Organization-Id", uuid::Uuid::now_v7().to_string()),
            403,
        ),
        (
            nginx.get(&client, "/_authd_verify").bearer_auth(&token),
            404,
        ),
    ];
    for (request, status) in refused {
        let res = request.send().expect("request sent");
        assert_eq!(res.status(), status, "{}", nginx.log());
        if status == 401 {
            let challenge = res.headers().get("www-authenticate");
            assert!(
                challenge.is_some_and(|c| c.to_str().unwrap().starts_with("Bearer")),
                "authd's challenge reaches the client"
            );
        }
        let body = res.text().unwrap();
        assert!(
            !body.contains("user_id"),
            "the application was not reached: {body}"
        );
    }

    // A logout shows at the proxy on the next request.
    let logout = app
        .post("/api/v1/auth/logout")
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(logout.status(), 200);
    let after = nginx.get(&client, "/").bearer_auth(&token).send().unwrap();
    assert_eq!(after.status(), 401);
    assert!(Path::new(&nginx.dir.path().join("nginx.conf")).exists());
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port")
}
