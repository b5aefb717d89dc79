//! The load driver. Open loop (`--rate`): operations start on a fixed schedule whatever
//! the server does, and each latency counts from the operation's scheduled start, so a
//! stall is charged to every operation it delays (no coordinated omission). Closed loop
//! (`--connections`): that many operations in flight, for saturation throughput. Every
//! response body is checked: HTTP 200, JSON, `data` present, no `errors`.

use std::{
    collections::VecDeque,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    Error, Result,
    gql::{self, Client},
    seed::{DONATE, JOIN, PAY, REVIEW, SUBMIT, str_at},
    state::State,
    stats::{Summary, summarize},
};

/// The campaign page: one campaign by slug, its 20 challenges (sponsor, approved count,
/// remaining quota), raised, donor count and the top-10 leaderboard.
pub const CAMPAIGN_PAGE: &str = "query CampaignPage($slug: String!) { campaign(slug: $slug) { id slug title description status goal { amount currency } raised { amount currency } donorCount participantCount organizer { id fullName } challenges(first: 20) { edges { node { id title actionType rewardPerAction { amount currency } quota approvedCount remainingQuota sponsor { id fullName companyName } } } } leaderboard(first: 10) { rank approvedActions user { id fullName } } } }";
/// The explore page: 20 campaigns with their organizer and raised.
pub const EXPLORE: &str = "query Explore { campaigns(first: 20) { edges { node { id slug title status raised { amount currency } donorCount organizer { id fullName } } } } }";
pub const TYPENAME: &str = "{ __typename }";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// The baseline server's JSON constant (POST /json).
    RawJson,
    /// The baseline server's single sqlx query (POST /sql).
    RawSql,
    Typename,
    Campaign,
    Explore,
    /// 80% page reads, 15% join/submit/review, 5% donate + recordPayment.
    Mixed,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, value_enum)]
    workload: Workload,
    /// The GraphQL server (or the baseline server for raw-*).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The seeder's state file (slugs, ids, tokens).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Campaign slug for the campaign page and raw-sql (default: the seeded first one).
    #[arg(long)]
    slug: Option<String>,
    /// Open loop: operations started per second.
    #[arg(long, conflicts_with = "connections")]
    rate: Option<u64>,
    /// Closed loop: operations in flight.
    #[arg(long)]
    connections: Option<usize>,
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Seconds run first and not counted.
    #[arg(long, default_value_t = 0)]
    warmup: u64,
    /// Where to write the result as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the request body (JSON) of the workload and exit: the load tools send it.
    #[arg(long)]
    print_body: bool,
    /// Mixed workload: keeps where joins got to, so that runs never join twice.
    #[arg(long)]
    cursor_file: Option<PathBuf>,
}

#[derive(Serialize, Debug)]
pub struct LoadResult {
    pub tool: &'static str,
    pub workload: Workload,
    pub mode: &'static str,
    pub rate: Option<u64>,
    pub connections: Option<usize>,
    pub duration_s: f64,
    pub ok: u64,
    pub bad: u64,
    pub dropped: u64,
    /// Good operations per second.
    pub throughput: f64,
    pub latency: Summary,
    pub first_error: Option<String>,
}

/// Operations that may be open at once in the open loop before new ones are dropped
/// (and counted as failures): keeps an overloaded run from eating the machine.
const MAX_IN_FLIGHT: usize = 20_000;

struct Driver {
    client: Client,
    workload: Workload,
    base: String,
    slug: String,
    state: Option<Arc<State>>,
    mixed: Mixed,
    ok: AtomicU64,
    bad: AtomicU64,
    dropped: AtomicU64,
    first_error: Mutex<Option<String>>,
    samples: Mutex<Vec<u64>>,
    recording: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Mixed {
    next_join: AtomicUsize,
    /// (participation, user, challenge) waiting to be submitted.
    joined: Mutex<VecDeque<(String, usize, usize)>>,
    /// (participation, challenge) waiting for review.
    submitted: Mutex<VecDeque<(String, usize)>>,
    counter: AtomicUsize,
}

pub fn body(workload: Workload, slug: &str) -> Value {
    match workload {
        Workload::RawJson => json!({ "query": TYPENAME }),
        Workload::RawSql => json!({ "slug": slug }),
        Workload::Typename => json!({ "query": TYPENAME }),
        Workload::Campaign => json!({ "query": CAMPAIGN_PAGE, "variables": { "slug": slug } }),
        Workload::Explore | Workload::Mixed => json!({ "query": EXPLORE }),
    }
}

pub fn path(workload: Workload) -> &'static str {
    match workload {
        Workload::RawJson => "/json",
        Workload::RawSql => "/sql",
        _ => "/graphql",
    }
}

impl Driver {
    async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Result<Value> {
        let mut request = self
            .client
            .http
            .post(format!("{}{path}", self.base))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        gql::check(status, &bytes)
    }

    async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Result<Value> {
        self.post(
            "/graphql",
            &json!({ "query": query, "variables": variables }),
            token,
        )
        .await
    }

    async fn operation(&self) -> Result<()> {
        match self.workload {
            Workload::Mixed => self.mixed_operation().await,
            workload => {
                let data = self
                    .post(path(workload), &body(workload, &self.slug), None)
                    .await?;
                if workload == Workload::Campaign
                    && data["campaign"]["challenges"]["edges"]
                        .as_array()
                        .is_none_or(|e| e.is_empty())
                {
                    return Err(Error::msg(format!(
                        "a campaign page without challenges: {data}"
                    )));
                }
                Ok(())
            }
        }
    }

    async fn mixed_operation(&self) -> Result<()> {
        let state = self
            .state
            .as_deref()
            .ok_or_else(|| Error::msg("mixed needs --state"))?;
        let i = self.mixed.counter.fetch_add(1, Ordering::Relaxed);
        match i % 20 {
            0..12 => {
                let slug = &state.campaigns[(i / 20) % state.campaigns.len()].slug;
                self.gql(CAMPAIGN_PAGE, json!({ "slug": slug }), None)
                    .await
                    .map(drop)
            }
            12..16 => self.gql(EXPLORE, json!({}), None).await.map(drop),
            16 => self.join(state).await,
            17 => {
                let next = lock(&self.mixed.joined).pop_front();
                match next {
                    Some((id, user, challenge)) => self.submit(state, id, user, challenge).await,
                    None => self.join(state).await,
                }
            }
            18 => {
                let next = lock(&self.mixed.submitted).pop_front();
                match next {
                    Some((id, challenge)) => self
                        .gql(
                            REVIEW,
                            json!({ "id": id, "ok": !i.is_multiple_of(3) }),
                            Some(state.organizer_token(challenge)),
                        )
                        .await
                        .map(drop),
                    None => self.join(state).await,
                }
            }
            _ => {
                let user = i % state.users.len();
                let campaign = &state.campaigns[(i / 7) % state.campaigns.len()];
                let donated = self
                    .gql(DONATE, json!({ "input": { "campaignId": campaign.id, "amount": { "amount": "25000" } } }), Some(&state.users[user].token))
                    .await?;
                let payment_ref = str_at(&donated, &["donate", "paymentRef"])?;
                self.gql(PAY, json!({ "input": { "paymentRef": payment_ref, "succeeded": true, "amount": { "amount": "25000" } } }), Some(&state.service.token))
                    .await
                    .map(drop)
            }
        }
    }

    async fn join(&self, state: &State) -> Result<()> {
        let n = self.mixed.next_join.fetch_add(1, Ordering::Relaxed);
        let users = state.users.len();
        let (user, k) = (n % users, state.joins_per_user + n / users);
        if k >= state.challenges.len() {
            return Err(Error::msg("every user has joined every challenge: reseed"));
        }
        let challenge = state.challenge_of(user, k);
        let data = self
            .gql(
                JOIN,
                json!({ "id": state.challenges[challenge].id }),
                Some(&state.users[user].token),
            )
            .await?;
        let id = str_at(&data, &["joinChallenge", "id"])?;
        lock(&self.mixed.joined).push_back((id, user, challenge));
        Ok(())
    }

    async fn submit(&self, state: &State, id: String, user: usize, challenge: usize) -> Result<()> {
        self.gql(
            SUBMIT,
            json!({ "id": id, "url": "https://img.bench.gerak.id/proof.jpg" }),
            Some(&state.users[user].token),
        )
        .await?;
        lock(&self.mixed.submitted).push_back((id, challenge));
        Ok(())
    }

    async fn timed(self: Arc<Self>, scheduled: Instant) {
        let result = self.operation().await;
        if !self.recording.load(Ordering::Relaxed) {
            return;
        }
        let micros = scheduled.elapsed().as_micros() as u64;
        match result {
            Ok(()) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                lock(&self.samples).push(micros);
            }
            Err(err) => {
                self.bad.fetch_add(1, Ordering::Relaxed);
                let mut first = lock(&self.first_error);
                if first.is_none() {
                    *first = Some(err.to_string().chars().take(500).collect());
                }
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn open_loop(driver: &Arc<Driver>, rate: u64, duration: Duration) {
    let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let started = Instant::now();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0.. {
        let due = started + interval * n;
        if due >= started + duration {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            driver.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (driver, in_flight) = (driver.clone(), in_flight.clone());
        tasks.spawn(async move {
            driver.timed(due).await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

async fn closed_loop(driver: &Arc<Driver>, connections: usize, duration: Duration) {
    let deadline = Instant::now() + duration;
    let workers = (0..connections).map(|_| {
        let driver = driver.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                driver.clone().timed(Instant::now()).await;
            }
        })
    });
    futures::future::join_all(workers).await;
}

pub async fn run(args: Args) -> Result<()> {
    let state = match &args.state {
        Some(path) => Some(Arc::new(State::load(path)?)),
        None => None,
    };
    let slug = match (&args.slug, &state) {
        (Some(slug), _) => slug.clone(),
        (None, Some(state)) => state
            .campaigns
            .first()
            .map(|c| c.slug.clone())
            .unwrap_or_default(),
        (None, None) => String::new(),
    };
    if args.print_body {
        println!("{}", body(args.workload, &slug));
        return Ok(());
    }
    let mixed = Mixed::default();
    if let Some(path) = &args.cursor_file {
        let start = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        mixed.next_join.store(start, Ordering::Relaxed);
    }
    let driver = Arc::new(Driver {
        client: Client::new(&args.url)?,
        workload: args.workload,
        base: args.url.trim_end_matches('/').to_owned(),
        slug,
        state,
        mixed,
        ok: AtomicU64::new(0),
        bad: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        first_error: Mutex::new(None),
        samples: Mutex::new(Vec::new()),
        recording: std::sync::atomic::AtomicBool::new(false),
    });
    let drive = |seconds: u64| {
        let driver = driver.clone();
        let (rate, connections) = (args.rate, args.connections);
        async move {
            let duration = Duration::from_secs(seconds);
            match (rate, connections) {
                (Some(rate), _) => open_loop(&driver, rate, duration).await,
                (None, connections) => {
                    closed_loop(&driver, connections.unwrap_or(64), duration).await
                }
            }
        }
    };
    if args.warmup > 0 {
        drive(args.warmup).await;
    }
    driver.recording.store(true, Ordering::Relaxed);
    let started = Instant::now();
    drive(args.duration).await;
    let elapsed = started.elapsed().as_secs_f64();
    driver.recording.store(false, Ordering::Relaxed);
    if let Some(path) = &args.cursor_file {
        std::fs::write(
            path,
            driver.mixed.next_join.load(Ordering::Relaxed).to_string(),
        )?;
    }
    let ok = driver.ok.load(Ordering::Relaxed);
    let result = LoadResult {
        tool: "gerak-bench load",
        workload: args.workload,
        mode: if args.rate.is_some() {
            "open-loop"
        } else {
            "closed-loop"
        },
        rate: args.rate,
        connections: if args.rate.is_some() {
            None
        } else {
            Some(args.connections.unwrap_or(64))
        },
        duration_s: elapsed,
        ok,
        bad: driver.bad.load(Ordering::Relaxed),
        dropped: driver.dropped.load(Ordering::Relaxed),
        throughput: ok as f64 / elapsed.max(1e-9),
        latency: summarize(std::mem::take(&mut *lock(&driver.samples))),
        first_error: lock(&driver.first_error).clone(),
    };
    let text = serde_json::to_string_pretty(&result)?;
    eprintln!(
        "{:?} {}: {:.0} ok/s, bad {}, dropped {}, p50 {} µs, p99 {} µs, p99.9 {} µs{}",
        result.workload,
        result.mode,
        result.throughput,
        result.bad,
        result.dropped,
        result.latency.p50_us,
        result.latency.p99_us,
        result.latency.p999_us,
        result
            .first_error
            .as_deref()
            .map(|e| format!("; first error: {e}"))
            .unwrap_or_default()
    );
    match &args.out {
        Some(path) => std::fs::write(path, text)?,
        None => println!("{text}"),
    }
    Ok(())
}
