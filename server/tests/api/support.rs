//! Test harness: the real server on port 0, on SQLite + in-process bus or on PostgreSQL +
//! Redis, with fresh databases and a unique Redis prefix per test.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use clap::Parser;
use gerak_actors::Domains;
use gerak_server::{app, cli::Cli, config::Config};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files and the in-process bus: the embedded default.
    Embedded,
    /// PostgreSQL (one database per domain) and Redis.
    Servers,
}

pub fn postgres_admin_url() -> String {
    std::env::var("GERAK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("GERAK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether PostgreSQL and Redis answer. Outside CI a test that needs them prints a
/// notice and passes without running; in CI (`CI=true`) their absence fails the test.
pub async fn servers_available() -> bool {
    let postgres = tokio::time::timeout(
        Duration::from_secs(3),
        Database::connect(postgres_admin_url()),
    )
    .await;
    let postgres_ok = matches!(postgres, Ok(Ok(_)));
    let redis_ok = match redis::Client::open(redis_url()) {
        Ok(client) => matches!(
            tokio::time::timeout(
                Duration::from_secs(3),
                client.get_multiplexed_async_connection()
            )
            .await,
            Ok(Ok(_))
        ),
        Err(_) => false,
    };
    if postgres_ok && redis_ok {
        return true;
    }
    assert!(
        !in_ci(),
        "CI=true but PostgreSQL ({}) or Redis ({}) is not reachable",
        postgres_admin_url(),
        redis_url()
    );
    eprintln!(
        "NOTICE: skipping a PostgreSQL + Redis test: PostgreSQL reachable: {postgres_ok}, Redis reachable: {redis_ok} (set GERAK_TEST_POSTGRES_URL / GERAK_TEST_REDIS_URL)"
    );
    false
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub domains: Arc<Domains>,
    pub backend: Backend,
    pub http: reqwest::Client,
    /// PostgreSQL databases of this test, by domain (Servers backend only).
    pub databases: Vec<String>,
    /// This test's Redis key prefix (Servers backend only).
    pub redis_prefix: String,
    data_dir: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    /// Starts a server; `extra` are more command-line settings (`--max-depth`, `5`, ...).
    pub async fn start_with(backend: Backend, extra: &[&str]) -> Self {
        Self::start_inner(backend, extra).await
    }

    /// A second instance beside this one (Servers backend): the same PostgreSQL databases
    /// and Redis prefix, as two machines behind a load balancer would share them.
    pub async fn start_beside(&self) -> Self {
        assert_eq!(
            self.backend,
            Backend::Servers,
            "instances share servers only"
        );
        let base = postgres_admin_url();
        let base = &base[..base.rfind('/').expect("url has a path")];
        let mut args: Vec<String> = Vec::new();
        for (domain, name) in ["users", "campaigns", "challenges", "donations", "reports"]
            .iter()
            .zip(&self.databases)
        {
            args.push(format!("--{domain}-database-url"));
            args.push(format!("{base}/{name}"));
        }
        args.push("--redis-prefix".into());
        args.push(self.redis_prefix.clone());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::start_inner(Backend::Servers, &args).await
    }

    /// A unique Redis prefix for tests that start several servers sharing it.
    pub fn unique_prefix() -> String {
        format!("gerak-test-{}", uuid::Uuid::now_v7().simple())
    }

    /// POSTs a raw GraphQL body and returns the response (headers and all).
    pub async fn post_raw(
        &self,
        body: &Value,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.http.post(self.url("/graphql")).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request")
    }

    async fn start_inner(backend: Backend, extra: &[&str]) -> Self {
        let unique = uuid::Uuid::now_v7().simple().to_string();
        let data_dir = std::env::temp_dir().join(format!("gerak-test-{unique}"));
        let mut args: Vec<String> = vec![
            "gerak".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--jwt-secret".into(),
            JWT_SECRET.into(),
            "--log".into(),
            "warn".into(),
        ];
        let mut databases = Vec::new();
        let redis_prefix = extra
            .iter()
            .position(|a| *a == "--redis-prefix")
            .and_then(|i| extra.get(i + 1))
            .map_or_else(|| format!("gerak-test-{unique}"), |p| (*p).to_owned());
        // A second instance beside another is given the other's databases.
        let own_databases = !extra.contains(&"--users-database-url");
        if backend == Backend::Servers && own_databases {
            let admin = Database::connect(postgres_admin_url())
                .await
                .expect("PostgreSQL");
            for domain in ["users", "campaigns", "challenges", "donations", "reports"] {
                let name = format!("gerak_t{}_{domain}", &unique[unique.len() - 12..]);
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create test database");
                let base = postgres_admin_url();
                let url = format!(
                    "{}/{name}",
                    &base[..base.rfind('/').expect("url has a path")]
                );
                args.push(format!("--{domain}-database-url"));
                args.push(url);
                databases.push(name);
            }
        }
        if backend == Backend::Servers {
            // Tests run side by side on one PostgreSQL (100 connections): small pools.
            if !extra.contains(&"--postgres-pool") {
                args.push("--postgres-pool".into());
                args.push("4".into());
            }
            // A test may bring its own Redis (one it kills and restarts).
            if !extra.contains(&"--redis-url") {
                args.push("--redis-url".into());
                args.push(redis_url());
            }
            // Tests of state shared between instances give both the same prefix.
            if !extra.contains(&"--redis-prefix") {
                args.push("--redis-prefix".into());
                args.push(redis_prefix.clone());
            }
        }
        // Tests make many requests from one address: generous limits unless a test sets
        // its own (rate-limit tests do).
        for (flag, value) in [
            ("--rate-anonymous", "100000/min"),
            ("--rate-user", "100000/min"),
            ("--rate-login-account", "100000/min"),
            ("--rate-login-ip", "100000/min"),
            ("--rate-register", "100000/min"),
            ("--rate-donate", "100000/min"),
        ] {
            if !extra.contains(&flag) {
                args.push(flag.into());
                args.push(value.into());
            }
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let cli = Cli::try_parse_from(&args).expect("test settings parse");
        let config = Config::resolve(cli.settings).expect("test config");

        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let result = app::run_system(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let shutdown = async move {
                    let _ = shutdown_rx.await;
                };
                app::serve(config, listener, shutdown, move |domains, addr| {
                    let _ = started_tx.send((domains, addr));
                })
                .await
            });
            if let Ok(Err(err)) | Err(err) = result {
                eprintln!("test server stopped with an error: {err}");
            }
        });
        let (domains, addr) = tokio::time::timeout(Duration::from_secs(60), started_rx)
            .await
            .expect("server started in time")
            .expect("server started");
        Self {
            addr,
            domains,
            backend,
            http: reqwest::Client::new(),
            databases,
            redis_prefix,
            data_dir,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// The five domain databases this server uses (for tests that write them directly,
    /// such as the legacy import).
    pub fn database_urls(&self) -> gerak_actors::DomainUrls {
        let url = |domain: &str| match self.backend {
            Backend::Embedded => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join(format!("{domain}.db")).display()
            ),
            Backend::Servers => {
                let base = postgres_admin_url();
                let name = self
                    .databases
                    .iter()
                    .find(|d| d.ends_with(&format!("_{domain}")))
                    .expect("a database per domain");
                format!(
                    "{}/{name}",
                    &base[..base.rfind('/').expect("url has a path")]
                )
            }
        };
        gerak_actors::DomainUrls {
            users: url("users"),
            campaigns: url("campaigns"),
            challenges: url("challenges"),
            donations: url("donations"),
            reports: url("reports"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs a GraphQL request and returns the body, whatever the status.
    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON body")
    }

    /// Like `gql`, but the request must succeed without errors; returns `data`.
    pub async fn data(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let body = self.gql(query, variables, token).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Registers a user and returns (access token, refresh token, user id).
    pub async fn register(&self, email: &str, role: &str) -> Session {
        let data = self
            .data(
                "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id } } }",
                json!({ "input": { "email": email, "password": "correct horse battery", "fullName": "Test Person", "role": role } }),
                None,
            )
            .await;
        Session::from(&data["register"])
    }

    /// Makes an admin the way `gerak create-admin` does and logs in.
    pub async fn admin(&self, email: &str) -> Session {
        self.domains
            .users
            .send(gerak_actors::users::CreateAdmin {
                email: email.to_owned(),
                password: "admin password 1".to_owned(),
                full_name: "Admin".to_owned(),
            })
            .await
            .expect("create admin");
        let data = self
            .data(
                "mutation($e: String!) { login(email: $e, password: \"admin password 1\") { accessToken refreshToken user { id } } }",
                json!({ "e": email }),
                None,
            )
            .await;
        Session::from(&data["login"])
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if !self.databases.is_empty() {
            let databases = std::mem::take(&mut self.databases);
            // Drop runs outside any runtime we may block: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async move {
                    if let Ok(admin) = Database::connect(postgres_admin_url()).await {
                        for name in databases {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                        }
                    }
                });
            })
            .join();
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
}

impl From<&Value> for Session {
    fn from(payload: &Value) -> Self {
        Self {
            access: payload["accessToken"]
                .as_str()
                .expect("accessToken")
                .to_owned(),
            refresh: payload["refreshToken"]
                .as_str()
                .expect("refreshToken")
                .to_owned(),
            user_id: payload["user"]["id"].as_str().expect("user id").to_owned(),
        }
    }
}

/// The `extensions.code` of the first error, panicking if there is none.
pub fn error_code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code: {body:#}"))
        .to_owned()
}

/// Declares a test that runs on both backends: `<name>::embedded` and `<name>::servers`.
#[macro_export]
macro_rules! on_both_backends {
    ($(#[$meta:meta])* async fn $name:ident($server:ident : TestServer) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($server: $crate::support::TestServer) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                run($crate::support::TestServer::start($crate::support::Backend::Embedded).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn servers() {
                if !$crate::support::servers_available().await {
                    return;
                }
                run($crate::support::TestServer::start($crate::support::Backend::Servers).await).await;
            }
        }
    };
}
