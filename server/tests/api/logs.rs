//! Logs never carry passwords, tokens or whole emails. Every log line of the process is
//! captured (as production writes them, JSON with spans) while a server handles the
//! sensitive operations, including failures and an internal error; none of the secrets
//! may appear, and the email only masked.

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock, PoisonError},
};

use gerak_actors::Domain;
use serde_json::json;
use tracing_subscriber::EnvFilter;

use crate::support::{Backend, JWT_SECRET, TestServer};

static CAPTURED: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the process-wide capturing subscriber once (other tests' lines land in it
/// too; only this test reads it).
fn captured() -> Arc<Mutex<Vec<u8>>> {
    CAPTURED
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let writer = buffer.clone();
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_env_filter(EnvFilter::new(
                    "info,gerak_server=trace,gerak_schema=trace,gerak_actors=trace",
                ))
                .with_writer(move || Capture(writer.clone()))
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other test installs a global subscriber");
            buffer
        })
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_password_token_or_email() {
    let log = captured();
    let server = TestServer::start_with(Backend::Embedded, &["--rate-login-account", "2/h"]).await;
    let email = "Siti.Rahmawati@example.id";
    let password = "kata-sandi-rahasia-1";
    let new_password = "kata-sandi-baru-2026";

    let data = server
        .data(
            "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken } }",
            json!({ "input": { "email": email, "password": password, "fullName": "Siti" } }),
            None,
        )
        .await;
    let access = data["register"]["accessToken"].as_str().unwrap().to_owned();
    let refresh = data["register"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }";
    let data = server
        .data(login, json!({ "e": email, "p": password }), None)
        .await;
    let access2 = data["login"]["accessToken"].as_str().unwrap().to_owned();
    let refresh2 = data["login"]["refreshToken"].as_str().unwrap().to_owned();
    // A replayed refresh token is logged (as an event about the user, not the token).
    let rotate = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }";
    server.data(rotate, json!({ "t": refresh }), None).await;
    server.gql(rotate, json!({ "t": refresh }), None).await;
    server
        .data(
            "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }",
            json!({ "c": password, "n": new_password }),
            Some(&access2),
        )
        .await;
    // Secrets in a GET query string.
    server
        .http
        .get(server.url("/graphql"))
        .query(&[
            ("query", "query($p: String) { me { id } }"),
            ("variables", &json!({ "p": password }).to_string()),
        ])
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    // Failed logins until the account is rate limited (that refusal is logged).
    for _ in 0..3 {
        server
            .gql(
                login,
                json!({ "e": email, "p": "not-the-password-9" }),
                None,
            )
            .await;
    }
    // An internal error, whose detail goes to the log.
    server.domains.faults(Domain::Users).unwrap().panic_next(1);
    server.gql("{ me { id } }", json!({}), Some(&access2)).await;
    drop(server);

    let text =
        String::from_utf8_lossy(&log.lock().unwrap_or_else(PoisonError::into_inner)).into_owned();
    assert!(
        text.contains("rate limited") && text.contains("S***@example.id"),
        "the capture works and masks"
    );
    assert!(
        text.contains("domain handler panicked"),
        "the internal error was logged"
    );
    let lower = text.to_lowercase();
    for secret in [
        email.to_lowercase().as_str(),
        "siti.rahmawati",
        password,
        new_password,
        "not-the-password-9",
        JWT_SECRET,
        &access,
        &access2,
        &refresh,
        &refresh2,
        access.rsplit('.').next().unwrap(),
    ] {
        assert!(
            !lower.contains(&secret.to_lowercase()),
            "a log line holds {secret:?}"
        );
    }
}
