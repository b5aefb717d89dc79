//! Configuration: every setting comes from a `GERAK_*` environment variable (or the
//! matching flag), with the defaults documented in the README.

use std::{
    fmt, fs,
    io::Write,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use axum::http::HeaderValue;
use clap::{ArgAction, Args, ValueEnum};
use gerak_actors::{Domain, DomainUrls};
use gerak_schema::{Safelist, throttle::rules};
use ipnet::IpNet;

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
    /// Most directives (`@include`, `@skip`, ...) in one query.
    #[arg(
        long,
        env = "GERAK_MAX_DIRECTIVES",
        default_value_t = 50,
        global = true
    )]
    pub max_directives: usize,
    /// Most lexical tokens in one query, counted before parsing.
    #[arg(long, env = "GERAK_MAX_TOKENS", default_value_t = 5000, global = true)]
    pub max_tokens: usize,
    /// Longest query text in bytes (variables excluded).
    #[arg(long, env = "GERAK_MAX_QUERY_BYTES", default_value_t = 64 * 1024, global = true)]
    pub max_query_bytes: usize,
    /// Deepest nesting of brackets in the text and of selections through fragments.
    #[arg(
        long,
        env = "GERAK_MAX_RECURSIVE_DEPTH",
        default_value_t = 32,
        global = true
    )]
    pub max_recursive_depth: usize,
    /// Most operations in one batched POST.
    #[arg(long, env = "GERAK_MAX_BATCH", default_value_t = 10, global = true)]
    pub max_batch: usize,
    /// Requests per anonymous client address ("100/min", "5/15min", "3/h" or "off").
    #[arg(long, env = "GERAK_RATE_ANONYMOUS", default_value = "100/min", value_parser = RateSetting::parse, global = true)]
    pub rate_anonymous: RateSetting,
    /// Requests per logged-in user.
    #[arg(long, env = "GERAK_RATE_USER", default_value = "600/min", value_parser = RateSetting::parse, global = true)]
    pub rate_user: RateSetting,
    /// Failed logins per account (the email, trimmed and lower-cased).
    #[arg(long, env = "GERAK_RATE_LOGIN_ACCOUNT", default_value = "5/15min", value_parser = RateSetting::parse, global = true)]
    pub rate_login_account: RateSetting,
    /// Failed logins per client address.
    #[arg(long, env = "GERAK_RATE_LOGIN_IP", default_value = "20/15min", value_parser = RateSetting::parse, global = true)]
    pub rate_login_ip: RateSetting,
    /// `register` calls per client address.
    #[arg(long, env = "GERAK_RATE_REGISTER", default_value = "3/h", value_parser = RateSetting::parse, global = true)]
    pub rate_register: RateSetting,
    /// `donate` calls per user.
    #[arg(long, env = "GERAK_RATE_DONATE", default_value = "10/h", value_parser = RateSetting::parse, global = true)]
    pub rate_donate: RateSetting,
    /// Proxies whose X-Forwarded-For is believed: comma-separated IPs or CIDRs.
    #[arg(long, env = "GERAK_TRUSTED_PROXIES", default_value = "", global = true)]
    pub trusted_proxies: String,
    /// Origins allowed to call the API from a browser, comma-separated (none: no CORS).
    #[arg(long, env = "GERAK_CORS_ORIGINS", default_value = "", global = true)]
    pub cors_origins: String,
    /// Connections each domain may hold on PostgreSQL (five domains: five times this).
    #[arg(long, env = "GERAK_POSTGRES_POOL", default_value_t = 10, global = true)]
    pub postgres_pool: u32,
    /// Seconds an event may sit unacknowledged with one instance's consumer (it died, say)
    /// before another instance takes it over. Longer than any event handler runs.
    #[arg(
        long,
        env = "GERAK_EVENT_CLAIM_IDLE",
        default_value_t = 60,
        global = true
    )]
    pub event_claim_idle: u64,
    /// Seconds an anonymous query's answer is kept (in memory, and in Redis when set);
    /// any change forgets it sooner. 0 turns the response cache off.
    #[arg(long, env = "GERAK_CACHE_TTL", default_value_t = 5, global = true)]
    pub cache_ttl: u64,
    /// GraphQL operations executing at once (each instance); more wait their turn.
    #[arg(
        long,
        env = "GERAK_MAX_IN_FLIGHT",
        default_value_t = 128,
        global = true
    )]
    pub max_in_flight: usize,
    /// Milliseconds an operation may wait for its turn before it is refused with
    /// UNAVAILABLE (HTTP 503, Retry-After: 1).
    #[arg(
        long,
        env = "GERAK_QUEUE_TIMEOUT_MS",
        default_value_t = 1000,
        global = true
    )]
    pub queue_timeout_ms: u64,
    /// Answers the in-memory response cache keeps (each instance).
    #[arg(
        long,
        env = "GERAK_CACHE_CAPACITY",
        default_value_t = 10_000,
        global = true
    )]
    pub cache_capacity: usize,
    /// Accept automatic persisted queries (Apollo's APQ).
    #[arg(long, env = "GERAK_PERSISTED_QUERIES", default_value_t = true, action = ArgAction::Set, global = true)]
    pub persisted_queries: bool,
    /// Persisted queries kept in memory (each instance).
    #[arg(
        long,
        env = "GERAK_PERSISTED_QUERIES_CAPACITY",
        default_value_t = 1000,
        global = true
    )]
    pub persisted_queries_capacity: usize,
    /// A JSON manifest {"<sha256 hex>": "query"}: only these operations are accepted.
    #[arg(long, env = "GERAK_SAFELIST", global = true)]
    pub safelist: Option<PathBuf>,
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
    #[error("GERAK_TRUSTED_PROXIES: {value:?} is not an IP address or CIDR block")]
    TrustedProxy { value: String },
    #[error(
        "GERAK_CORS_ORIGINS: {value:?} is not an origin like https://app.example.id (no path, no wildcard)"
    )]
    CorsOrigin { value: String },
    #[error("GERAK_SAFELIST: {path} cannot be used: {reason}")]
    Safelist { path: PathBuf, reason: String },
}

/// A rate: `count` per `period`, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSetting {
    Off,
    Limit(Rate),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.count, self.period.as_secs())
    }
}

impl RateSetting {
    /// `off`, or `COUNT/PERIOD` where PERIOD is a unit (`s`, `min`, `h`, `d`) with an
    /// optional multiplier: `100/min`, `5/15min`, `3/h`, `20/900s`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(RateSetting::Off);
        }
        let bad = || format!("{text:?} is not a rate like 100/min, 5/15min, 3/h or off");
        let (count, period) = text.split_once('/').ok_or_else(bad)?;
        let count = u32::from_str(count.trim()).map_err(|_| bad())?;
        let period = period.trim();
        let digits = period.chars().take_while(char::is_ascii_digit).count();
        let (multiplier, unit) = period.split_at(digits);
        let multiplier = if multiplier.is_empty() {
            1
        } else {
            u64::from_str(multiplier).map_err(|_| bad())?
        };
        let unit_secs = match unit.trim() {
            "s" | "sec" | "second" | "seconds" => 1,
            "m" | "min" | "minute" | "minutes" => 60,
            "h" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            _ => return Err(bad()),
        };
        let secs = multiplier.checked_mul(unit_secs).ok_or_else(bad)?;
        if count == 0 || secs == 0 {
            return Err(bad());
        }
        Ok(RateSetting::Limit(Rate {
            count,
            period: Duration::from_secs(secs),
        }))
    }

    fn rate(self) -> Option<Rate> {
        match self {
            RateSetting::Off => None,
            RateSetting::Limit(rate) => Some(rate),
        }
    }
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
    /// Rule name (see `gerak_schema::throttle::rules`) → rate; absent rules are off.
    pub rates: Vec<(&'static str, Rate)>,
    pub trusted_proxies: Vec<IpNet>,
    pub cors_origins: Vec<HeaderValue>,
    /// Capacity of the in-memory APQ store; `None`: persisted queries are off.
    pub persisted_queries: Option<usize>,
    /// How long an event stays pending with a consumer before another takes it over.
    pub event_claim_idle: Duration,
    pub postgres_pool: u32,
    /// Response cache: how long an answer lives (zero: off) and how many are kept.
    pub cache_ttl: Duration,
    pub cache_capacity: usize,
    /// Admission: operations executing at once, and how long others wait their turn.
    pub max_in_flight: usize,
    pub queue_timeout: Duration,
    pub safelist: Option<Arc<Safelist>>,
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
            .field(
                "rates",
                &self
                    .rates
                    .iter()
                    .map(|(rule, rate)| format!("{rule}={rate}"))
                    .collect::<Vec<_>>(),
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cors_origins", &self.cors_origins)
            .field("persisted_queries", &self.persisted_queries)
            .field("event_claim_idle", &self.event_claim_idle)
            .field("postgres_pool", &self.postgres_pool)
            .field("cache_ttl", &self.cache_ttl)
            .field("cache_capacity", &self.cache_capacity)
            .field("max_in_flight", &self.max_in_flight)
            .field("queue_timeout", &self.queue_timeout)
            .field("safelist", &self.safelist.as_ref().map(|s| s.len()))
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
        let rates = [
            (rules::ANONYMOUS, settings.rate_anonymous),
            (rules::USER, settings.rate_user),
            (rules::LOGIN_ACCOUNT, settings.rate_login_account),
            (rules::LOGIN_IP, settings.rate_login_ip),
            (rules::REGISTER, settings.rate_register),
            (rules::DONATE, settings.rate_donate),
        ]
        .into_iter()
        .filter_map(|(rule, setting)| setting.rate().map(|rate| (rule, rate)))
        .collect();
        let safelist = match &settings.safelist {
            Some(path) => Some(Arc::new(load_safelist(path)?)),
            None => None,
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
                max_directives: settings.max_directives,
                max_tokens: settings.max_tokens.max(1),
                max_query_bytes: settings.max_query_bytes.max(1),
                max_recursive_depth: settings.max_recursive_depth.max(1),
                introspection: settings.introspection.unwrap_or(!production),
            },
            rates,
            trusted_proxies: parse_list(&settings.trusted_proxies)
                .map(parse_proxy)
                .collect::<Result<_, _>>()?,
            cors_origins: parse_list(&settings.cors_origins)
                .map(parse_origin)
                .collect::<Result<_, _>>()?,
            persisted_queries: settings
                .persisted_queries
                .then_some(settings.persisted_queries_capacity.max(1)),
            event_claim_idle: Duration::from_secs(settings.event_claim_idle.max(1)),
            postgres_pool: settings.postgres_pool.clamp(1, 1000),
            cache_ttl: Duration::from_secs(settings.cache_ttl),
            cache_capacity: settings.cache_capacity.max(1),
            max_in_flight: settings.max_in_flight.max(1),
            queue_timeout: Duration::from_millis(settings.queue_timeout_ms),
            safelist,
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

fn parse_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// An IP address (one host) or a CIDR block.
fn parse_proxy(text: &str) -> Result<IpNet, ConfigError> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| ConfigError::TrustedProxy {
            value: text.to_owned(),
        })
}

fn parse_origin(text: &str) -> Result<HeaderValue, ConfigError> {
    let err = || ConfigError::CorsOrigin {
        value: text.to_owned(),
    };
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(err)?;
    if rest.is_empty() || rest.contains(['/', '*', ' ', '?', '#']) {
        return Err(err());
    }
    HeaderValue::from_str(text).map_err(|_| err())
}

fn load_safelist(path: &Path) -> Result<Safelist, ConfigError> {
    let err = |reason: String| ConfigError::Safelist {
        path: path.to_owned(),
        reason,
    };
    let text = fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    Safelist::from_json(&text).map_err(|e| err(e.to_string()))
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
