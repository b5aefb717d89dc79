//! Starting the domains: for each, an Arbiter (its own thread), its database connected and
//! migrated on that thread, and its actor started there under a `Supervisor`.

use std::{future::Future, sync::Arc, time::Duration};

use actix::{Arbiter, Supervisor};
use gerak_migration::{
    CampaignsMigrator, ChallengesMigrator, DonationsMigrator, MigratorTrait, ReportsMigrator,
    UsersMigrator,
};
use sea_orm::DbErr;

use crate::{
    DomainError,
    bus::Bus,
    campaigns::{CampaignsHandle, CampaignsService},
    challenges::{ChallengesHandle, ChallengesService},
    db::DomainDb,
    donations::{DonationsHandle, DonationsService},
    reports::{ReportsHandle, ReportsService},
    runtime::{
        ActorStats, Changes, ConsumerTask, Domain, DomainActor, DomainHealth, DomainService,
        FaultSwitch, Outbox, Ping, spawn_consumer,
    },
    users::{AccountCache, UsersHandle, UsersService, tokens::AccessTokens},
};

/// How long stopping waits for the domains' transactions in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// One database URL per domain.
#[derive(Debug, Clone)]
pub struct DomainUrls {
    pub users: String,
    pub campaigns: String,
    pub challenges: String,
    pub donations: String,
    pub reports: String,
}

impl DomainUrls {
    pub fn get(&self, domain: Domain) -> &str {
        match domain {
            Domain::Users => &self.users,
            Domain::Campaigns => &self.campaigns,
            Domain::Challenges => &self.challenges,
            Domain::Donations => &self.donations,
            Domain::Reports => &self.reports,
        }
    }
}

pub struct StartOptions {
    pub urls: DomainUrls,
    pub bus: Bus,
    pub jwt_secret: Vec<u8>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Distinct reporters whose OPEN reports hide content until an admin decides.
    pub auto_hide_reports: u64,
    /// Connections each domain may hold on PostgreSQL.
    pub postgres_pool: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the {domain} database ({url}) could not be opened: {source}")]
    Connect {
        domain: Domain,
        url: String,
        source: DbErr,
    },
    #[error("migrating the {domain} database failed: {source}")]
    Migrate { domain: Domain, source: DbErr },
    #[error("the {0} domain's thread stopped while starting")]
    ArbiterGone(Domain),
}

/// Everything that reaches the running domains.
pub struct Domains {
    pub users: UsersHandle,
    /// Accounts as mutations check them, read through the users domain.
    pub accounts: AccountCache,
    pub campaigns: CampaignsHandle,
    pub challenges: ChallengesHandle,
    pub donations: DonationsHandle,
    pub reports: ReportsHandle,
    pub bus: Bus,
    pub tokens: Arc<AccessTokens>,
    /// State changes applied from events in this process.
    pub changes: Changes,
    consumers: Vec<ConsumerTask>,
    /// The inbound payments consumer (Redis only).
    payments: Option<tokio::task::JoinHandle<()>>,
    faults: Vec<(Domain, FaultSwitch)>,
    stats: Vec<(Domain, Arc<ActorStats>)>,
    /// Each domain's thread and the database its work runs on.
    arbiters: Vec<(Arbiter, DomainDb)>,
}

impl Domains {
    /// Starts every domain. Must run inside an actix `System`.
    pub async fn start(options: StartOptions) -> Result<Self, StartError> {
        let tokens = Arc::new(AccessTokens::new(
            &options.jwt_secret,
            options.access_token_ttl,
        ));
        let mut arbiters = Vec::new();
        let mut faults = Vec::new();

        let mut all_stats = Vec::new();
        let bus = options.bus.clone();
        let changes = Changes::default();
        let mut consumers = Vec::new();
        // Each domain: its thread, its database, its outbox relay and its WAL checkpointer on
        // that thread, its actor.
        macro_rules! start {
            ($domain:expr, $handle:ident, |$db:ident, $outbox:ident| $service:expr) => {{
                let (arbiter, $db, stats, fault) =
                    open($domain, &options.urls, options.postgres_pool).await?;
                let $outbox = Outbox::default();
                if !arbiter.spawn($outbox.clone().relay($domain, $db.clone(), bus.clone()))
                    || !arbiter.spawn($db.clone().checkpoint_loop())
                {
                    return Err(StartError::ArbiterGone($domain));
                }
                let database = $db.clone();
                let addr = start_actor(&arbiter, $service, stats.clone(), fault.clone());
                arbiters.push((arbiter, database));
                faults.push(($domain, fault));
                all_stats.push(($domain, stats));
                $handle::new(&addr)
            }};
        }
        let accounts = AccountCache::default();
        let users = start!(Domain::Users, UsersHandle, |db, outbox| UsersService {
            db,
            tokens: tokens.clone(),
            outbox,
            refresh_ttl: options.refresh_token_ttl,
            accounts: accounts.clone(),
        });
        let campaigns = start!(Domain::Campaigns, CampaignsHandle, |db, outbox| {
            CampaignsService { db, outbox }
        });
        consumers.push(spawn_consumer(
            Domain::Campaigns,
            &bus,
            &changes,
            campaigns.clone(),
            crate::campaigns::SOURCES,
            crate::campaigns::wants,
        ));
        let challenges = start!(Domain::Challenges, ChallengesHandle, |db, outbox| {
            ChallengesService { db, outbox }
        });
        consumers.push(spawn_consumer(
            Domain::Challenges,
            &bus,
            &changes,
            challenges.clone(),
            crate::challenges::SOURCES,
            crate::challenges::wants,
        ));
        let donations = start!(Domain::Donations, DonationsHandle, |db, outbox| {
            DonationsService {
                db,
                outbox,
                payments: Default::default(),
            }
        });
        consumers.push(spawn_consumer(
            Domain::Donations,
            &bus,
            &changes,
            donations.clone(),
            crate::donations::SOURCES,
            crate::donations::wants,
        ));
        let payments = crate::payments::spawn_consumer(&bus, &changes, donations.clone());
        let reports = start!(Domain::Reports, ReportsHandle, |db, outbox| {
            ReportsService {
                db,
                outbox,
                auto_hide_threshold: options.auto_hide_reports.max(1),
            }
        });
        consumers.push(spawn_consumer(
            Domain::Reports,
            &bus,
            &changes,
            reports.clone(),
            crate::reports::SOURCES,
            crate::reports::wants,
        ));
        consumers.push(spawn_consumer(
            Domain::Users,
            &bus,
            &changes,
            users.clone(),
            crate::users::SOURCES,
            crate::users::wants,
        ));

        Ok(Self {
            users,
            accounts,
            campaigns,
            challenges,
            donations,
            reports,
            bus: options.bus,
            tokens,
            changes,
            consumers,
            payments,
            faults,
            stats: all_stats,
            arbiters,
        })
    }

    /// A domain's actor counters (restarts, messages handled).
    pub fn stats(&self, domain: Domain) -> Option<&ActorStats> {
        self.stats
            .iter()
            .find(|(d, _)| *d == domain)
            .map(|(_, stats)| stats.as_ref())
    }

    /// Asks one domain whether it and its database answer.
    pub async fn ping(&self, domain: Domain) -> Result<DomainHealth, DomainError> {
        match domain {
            Domain::Users => self.users.send(Ping).await,
            Domain::Campaigns => self.campaigns.send(Ping).await,
            Domain::Challenges => self.challenges.send(Ping).await,
            Domain::Donations => self.donations.send(Ping).await,
            Domain::Reports => self.reports.send(Ping).await,
        }
    }

    /// The fault switch of a domain (armed only with the `fault-injection` feature).
    pub fn faults(&self, domain: Domain) -> Option<&FaultSwitch> {
        self.faults
            .iter()
            .find(|(d, _)| *d == domain)
            .map(|(_, switch)| switch)
    }

    /// Kills a domain's event consumer mid-work and starts a new one, as a crash would
    /// (tests of the bus's durability).
    #[cfg(feature = "fault-injection")]
    pub fn restart_consumer(&self, domain: Domain) {
        for consumer in self.consumers.iter().filter(|c| c.domain == domain) {
            consumer.restart();
        }
    }

    /// Stops the consumers, lets each domain finish the transactions it has in flight and
    /// close its database connections (for at most `SHUTDOWN_GRACE`), then stops the
    /// domains' threads. Requests still waiting for a domain are dropped; what a consumer
    /// read and did not acknowledge is delivered again later.
    pub async fn stop(&self) {
        for consumer in &self.consumers {
            consumer.stop();
        }
        if let Some(payments) = &self.payments {
            payments.abort();
        }
        // A connection still checked out when its thread stops is dropped outside any
        // runtime, where sqlx cannot return it and panics. Closing the pools on their own
        // threads first waits for every connection to come back.
        let closed = self.arbiters.iter().filter_map(|(arbiter, db)| {
            let (read, write) = (db.read.clone(), db.write.clone());
            let (done, closed) = tokio::sync::oneshot::channel();
            let spawned = arbiter.spawn(async move {
                let _ = futures::future::join(read.close_by_ref(), write.close_by_ref()).await;
                let _ = done.send(());
            });
            spawned.then_some(closed)
        });
        let closed = futures::future::join_all(closed);
        if tokio::time::timeout(SHUTDOWN_GRACE, closed).await.is_err() {
            tracing::warn!(
                grace_s = SHUTDOWN_GRACE.as_secs(),
                "a domain still held database connections when stopping; stopping anyway"
            );
        }
        for (arbiter, _) in &self.arbiters {
            arbiter.stop();
        }
    }
}

/// Applies every domain's migrations (`gerak migrate`, and at every start).
pub async fn migrate_all(urls: &DomainUrls) -> Result<(), StartError> {
    for domain in Domain::ALL {
        let db = connect(domain, urls.get(domain), 2).await?;
        migrate(&db).await?;
    }
    Ok(())
}

async fn connect(domain: Domain, url: &str, pool: u32) -> Result<DomainDb, StartError> {
    DomainDb::connect_with_pool(domain, url, pool)
        .await
        .map_err(|source| StartError::Connect {
            domain,
            url: redact(url),
            source,
        })
}

pub(crate) async fn migrate(db: &DomainDb) -> Result<(), StartError> {
    let result = match db.domain {
        Domain::Users => UsersMigrator::up(&db.write, None).await,
        Domain::Campaigns => CampaignsMigrator::up(&db.write, None).await,
        Domain::Challenges => ChallengesMigrator::up(&db.write, None).await,
        Domain::Donations => DonationsMigrator::up(&db.write, None).await,
        Domain::Reports => ReportsMigrator::up(&db.write, None).await,
    };
    result.map_err(|source| StartError::Migrate {
        domain: db.domain,
        source,
    })
}

/// Creates the domain's Arbiter and opens and migrates its database on it, so that the
/// connections' I/O is driven by the thread that uses them.
async fn open(
    domain: Domain,
    urls: &DomainUrls,
    pool: u32,
) -> Result<(Arbiter, DomainDb, Arc<ActorStats>, FaultSwitch), StartError> {
    let arbiter = Arbiter::new();
    let url = urls.get(domain).to_owned();
    let db = on_arbiter(&arbiter, domain, async move {
        let db = connect(domain, &url, pool).await?;
        migrate(&db).await?;
        Ok::<_, StartError>(db)
    })
    .await??;
    Ok((arbiter, db, Arc::default(), FaultSwitch::default()))
}

fn start_actor<S: DomainService + Send>(
    arbiter: &Arbiter,
    service: S,
    stats: Arc<ActorStats>,
    faults: FaultSwitch,
) -> actix::Addr<DomainActor<S>> {
    Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
        DomainActor::new(service, stats, faults)
    })
}

async fn on_arbiter<F, T>(arbiter: &Arbiter, domain: Domain, work: F) -> Result<T, StartError>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = arbiter.spawn(async move {
        let _ = tx.send(work.await);
    });
    if !spawned {
        return Err(StartError::ArbiterGone(domain));
    }
    rx.await.map_err(|_| StartError::ArbiterGone(domain))
}

/// A database URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://gerak:s3cret@db:5432/gerak_users"),
            "postgres://gerak:***@db:5432/gerak_users"
        );
        assert_eq!(
            super::redact("sqlite://./data/users.db?mode=rwc"),
            "sqlite://./data/users.db?mode=rwc"
        );
    }
}
