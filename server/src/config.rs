//! Configuration: every setting comes from a `GERAK_*` environment variable (or the
//! matching flag), with the defaults documented in the README.

use std::{
    fs,
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use clap::{Args, ValueEnum};
use gerak_actors::{Domain, DomainUrls};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    Development,
    Staging,
    Production,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The settings as given; [`Config::resolve`] checks them and fills in the rest.
#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    #[arg(
        long,
        env = "GERAK_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub addr: SocketAddr,
    /// Where SQLite files and the development JWT secret live.
    #[arg(long, env = "GERAK_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// development, staging or production.
    #[arg(
        long,
        env = "GERAK_PROFILE",
        value_enum,
        default_value = "development",
        global = true
    )]
    pub profile: Profile,
    #[arg(long, env = "GERAK_USERS_DATABASE_URL", global = true)]
    pub users_database_url: Option<String>,
    #[arg(long, env = "GERAK_CAMPAIGNS_DATABASE_URL", global = true)]
    pub campaigns_database_url: Option<String>,
    #[arg(long, env = "GERAK_CHALLENGES_DATABASE_URL", global = true)]
    pub challenges_database_url: Option<String>,
    #[arg(long, env = "GERAK_DONATIONS_DATABASE_URL", global = true)]
    pub donations_database_url: Option<String>,
    #[arg(long, env = "GERAK_REPORTS_DATABASE_URL", global = true)]
    pub reports_database_url: Option<String>,
    /// Redis for the event bus; unset means the in-process bus.
    #[arg(long, env = "GERAK_REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel.
    #[arg(
        long,
        env = "GERAK_REDIS_PREFIX",
        default_value = "gerak",
        global = true
    )]
    pub redis_prefix: String,
    /// HS256 secret for access tokens, at least 32 bytes. Required in production.
    #[arg(long, env = "GERAK_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// Access token lifetime in seconds.
    #[arg(
        long,
        env = "GERAK_ACCESS_TOKEN_TTL",
        default_value_t = 900,
        global = true
    )]
    pub access_token_ttl: u64,
    /// Refresh token lifetime in seconds.
    #[arg(long, env = "GERAK_REFRESH_TOKEN_TTL", default_value_t = 30 * 24 * 3600, global = true)]
    pub refresh_token_ttl: u64,
    #[arg(long, env = "GERAK_MAX_BODY_BYTES", default_value_t = 2 * 1024 * 1024, global = true)]
    pub max_body_bytes: usize,
    #[arg(long, env = "GERAK_MAX_DEPTH", default_value_t = 15, global = true)]
    pub max_depth: usize,
    #[arg(
        long,
        env = "GERAK_MAX_COMPLEXITY",
        default_value_t = 2000,
        global = true
    )]
    pub max_complexity: usize,
    #[arg(long, env = "GERAK_MAX_ALIASES", default_value_t = 100, global = true)]
    pub max_aliases: usize,
    /// Most operations in one batched POST.
    #[arg(long, env = "GERAK_MAX_BATCH", default_value_t = 10, global = true)]
    pub max_batch: usize,
    /// Serve GraphiQL at `/` (default: on, except in production).
    #[arg(long, env = "GERAK_GRAPHIQL", global = true)]
    pub graphiql: Option<bool>,
    /// Allow introspection (default: on, except in production).
    #[arg(long, env = "GERAK_INTROSPECTION", global = true)]
    pub introspection: Option<bool>,
    /// Distinct reporters with open reports that hide content until an admin decides.
    #[arg(
        long,
        env = "GERAK_AUTO_HIDE_REPORTS",
        default_value_t = 3,
        global = true
    )]
    pub auto_hide_reports: u64,
    /// Log filter, as RUST_LOG.
    #[arg(long, env = "GERAK_LOG", default_value = "info", global = true)]
    pub log: String,
    /// text or json (default: json in production).
    #[arg(long, env = "GERAK_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "GERAK_PROFILE=production needs GERAK_JWT_SECRET (at least 32 bytes); refusing to start"
    )]
    SecretRequired,
    #[error("GERAK_JWT_SECRET must be at least 32 bytes long")]
    SecretTooShort,
    #[error("the data directory {path} cannot be used: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the JWT secret file {path} cannot be read or written: {source}")]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{name} must be a sqlite:// or postgres:// URL")]
    DatabaseUrl { name: &'static str },
}

/// Checked configuration.
#[derive(Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub profile: Profile,
    pub urls: DomainUrls,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub jwt_secret: Vec<u8>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub limits: gerak_schema::Limits,
    pub graphiql: bool,
    pub auto_hide_reports: u64,
    pub log: String,
    pub log_format: LogFormat,
}

impl std::fmt::Debug for Config {
    // Written by hand so that the secret can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("profile", &self.profile)
            .field(
                "redis",
                &self.redis_url.as_deref().map(gerak_actors::system::redact),
            )
            .field("graphiql", &self.graphiql)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn resolve(settings: Settings) -> Result<Self, ConfigError> {
        let production = settings.profile == Profile::Production;
        let jwt_secret = match settings.jwt_secret.as_deref() {
            Some(secret) if secret.len() >= 32 => secret.as_bytes().to_vec(),
            Some(_) => return Err(ConfigError::SecretTooShort),
            None if production => return Err(ConfigError::SecretRequired),
            None => development_secret(&settings.data_dir)?,
        };
        let urls = DomainUrls {
            users: database_url(&settings, Domain::Users, &settings.users_database_url)?,
            campaigns: database_url(
                &settings,
                Domain::Campaigns,
                &settings.campaigns_database_url,
            )?,
            challenges: database_url(
                &settings,
                Domain::Challenges,
                &settings.challenges_database_url,
            )?,
            donations: database_url(
                &settings,
                Domain::Donations,
                &settings.donations_database_url,
            )?,
            reports: database_url(&settings, Domain::Reports, &settings.reports_database_url)?,
        };
        Ok(Self {
            addr: settings.addr,
            profile: settings.profile,
            urls,
            redis_url: settings.redis_url.filter(|u| !u.trim().is_empty()),
            redis_prefix: settings.redis_prefix,
            jwt_secret,
            access_token_ttl: Duration::from_secs(settings.access_token_ttl.max(1)),
            refresh_token_ttl: Duration::from_secs(settings.refresh_token_ttl.max(1)),
            max_body_bytes: settings.max_body_bytes,
            max_batch: settings.max_batch.max(1),
            limits: gerak_schema::Limits {
                max_depth: settings.max_depth,
                max_complexity: settings.max_complexity,
                max_aliases: settings.max_aliases,
                introspection: settings.introspection.unwrap_or(!production),
            },
            graphiql: settings.graphiql.unwrap_or(!production),
            auto_hide_reports: settings.auto_hide_reports.max(1),
            log: settings.log,
            log_format: settings.log_format.unwrap_or(if production {
                LogFormat::Json
            } else {
                LogFormat::Text
            }),
        })
    }
}

fn database_url(
    settings: &Settings,
    domain: Domain,
    given: &Option<String>,
) -> Result<String, ConfigError> {
    match given.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url)
            if url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://") =>
        {
            Ok(url.to_owned())
        }
        Some(_) => Err(ConfigError::DatabaseUrl {
            name: match domain {
                Domain::Users => "GERAK_USERS_DATABASE_URL",
                Domain::Campaigns => "GERAK_CAMPAIGNS_DATABASE_URL",
                Domain::Challenges => "GERAK_CHALLENGES_DATABASE_URL",
                Domain::Donations => "GERAK_DONATIONS_DATABASE_URL",
                Domain::Reports => "GERAK_REPORTS_DATABASE_URL",
            },
        }),
        None => {
            ensure_dir(&settings.data_dir)?;
            let file = settings.data_dir.join(format!("{domain}.db"));
            Ok(format!("sqlite://{}?mode=rwc", file.display()))
        }
    }
}

fn ensure_dir(dir: &Path) -> Result<(), ConfigError> {
    fs::create_dir_all(dir).map_err(|source| ConfigError::DataDir {
        path: dir.to_owned(),
        source,
    })
}

/// Development only: a random secret made once and kept in the data directory, so that
/// tokens survive restarts without anyone choosing a weak secret.
fn development_secret(data_dir: &Path) -> Result<Vec<u8>, ConfigError> {
    ensure_dir(data_dir)?;
    let path = data_dir.join("jwt-secret");
    let err = |source| ConfigError::SecretFile {
        path: path.clone(),
        source,
    };
    match fs::read_to_string(&path) {
        Ok(secret) if secret.trim().len() >= 32 => return Ok(secret.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| err(std::io::Error::other(e.to_string())))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(err)?;
    file.write_all(secret.as_bytes()).map_err(err)?;
    tracing::warn!(
        path = %path.display(),
        "GERAK_JWT_SECRET is not set: generated a development secret and kept it in the data directory; set GERAK_JWT_SECRET in production"
    );
    Ok(secret.into_bytes())
}
