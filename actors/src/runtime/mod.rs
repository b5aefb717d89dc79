//! The actor runtime: one supervised actor per domain on its own Arbiter, panic isolation,
//! and the handles through which everything else reaches a domain.
//!
//! actix's `Supervisor` restarts an actor only when it stops itself; a panic that escapes
//! a handler kills the actor for good. So every handler runs through [`guard`], which
//! turns a panic into an error for that one request and, when the panic happened where
//! actor state could be half-changed, stops the actor so the supervisor restarts it.

mod events;
mod faults;
mod handle;
mod outbox;

use std::{
    any::Any,
    fmt,
    future::Future,
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use actix::{
    Actor, ActorContext, Context, Handler, Message, Recipient, ResponseFuture, Supervised,
};
use futures::FutureExt;

pub use events::{ApplyEvent, ApplyEvents, Changes, ConsumerTask};
pub(crate) use events::{claim, claim_all, event_money, event_text, one_by_one, spawn_consumer};
pub use faults::FaultSwitch;
pub use handle::Route;
pub(crate) use handle::{domain_handle, route_messages};
pub use outbox::{Outbox, backlog as outbox_backlog};
pub(crate) use outbox::{commit_with, commit_with_rows};

use crate::{DomainError, db::DomainDb};

/// How long a caller waits for a domain before reporting it UNAVAILABLE.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    Users,
    Campaigns,
    Challenges,
    Donations,
    Reports,
}

impl Domain {
    pub const ALL: [Domain; 5] = [
        Domain::Users,
        Domain::Campaigns,
        Domain::Challenges,
        Domain::Donations,
        Domain::Reports,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Domain::Users => "users",
            Domain::Campaigns => "campaigns",
            Domain::Challenges => "challenges",
            Domain::Donations => "donations",
            Domain::Reports => "reports",
        }
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a domain's service gives the shared actor shell.
pub trait DomainService: Unpin + 'static {
    const DOMAIN: Domain;
    fn db(&self) -> &DomainDb;
}

/// Counters shared between a domain's actor and whoever reports on it.
#[derive(Debug, Default)]
pub struct ActorStats {
    restarts: AtomicU64,
    messages: AtomicU64,
}

impl ActorStats {
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Messages handled since start (what batching is measured by).
    pub fn messages(&self) -> u64 {
        self.messages.load(Ordering::Relaxed)
    }
}

/// The actor shell every domain runs in. The domain's logic lives in its service `S`;
/// handlers for its messages are written as `impl Handler<M> for DomainActor<S>`.
pub struct DomainActor<S: DomainService> {
    pub(crate) service: S,
    pub(crate) stats: Arc<ActorStats>,
    pub(crate) faults: FaultSwitch,
}

impl<S: DomainService> DomainActor<S> {
    pub fn new(service: S, stats: Arc<ActorStats>, faults: FaultSwitch) -> Self {
        Self {
            service,
            stats,
            faults,
        }
    }
}

impl<S: DomainService> Actor for DomainActor<S> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Each domain has its own mailbox; a deeper one absorbs bursts from many requests.
        ctx.set_mailbox_capacity(1024);
        tracing::debug!(domain = %S::DOMAIN, "domain actor started");
    }
}

impl<S: DomainService> Supervised for DomainActor<S> {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.stats.restarts.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("gerak_actor_restarts_total", "domain" => S::DOMAIN.name()).increment(1);
        tracing::warn!(domain = %S::DOMAIN, "domain actor restarting after a failure");
    }
}

/// Runs one request's handler so that a panic becomes an error for that request only.
///
/// `start` runs synchronously with the actor (it may read or change actor state) and
/// returns the future that does the I/O; that future runs concurrently with other
/// requests (`ResponseFuture`), so reads never queue behind each other. A panic in
/// `start` may have left the state half-changed: the actor is stopped and its supervisor
/// restarts it at once. A panic in the future touches no actor state and only fails
/// that request.
pub(crate) fn guard<S, T, F, Fut>(
    actor: &mut DomainActor<S>,
    ctx: &mut Context<DomainActor<S>>,
    start: F,
) -> ResponseFuture<Result<T, DomainError>>
where
    S: DomainService,
    T: 'static,
    F: FnOnce(&mut S) -> Fut,
    Fut: Future<Output = Result<T, DomainError>> + 'static,
{
    let domain = S::DOMAIN;
    actor.stats.messages.fetch_add(1, Ordering::Relaxed);
    let faults = actor.faults.clone();
    let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
        faults.trip(domain);
        start(&mut actor.service)
    }));
    match started {
        Ok(future) => Box::pin(async move {
            match AssertUnwindSafe(future).catch_unwind().await {
                Ok(result) => result,
                Err(panic) => Err(panicked(domain, panic.as_ref())),
            }
        }),
        Err(panic) => {
            let err = panicked(domain, panic.as_ref());
            ctx.stop();
            Box::pin(async move { Err(err) })
        }
    }
}

fn panicked(domain: Domain, panic: &(dyn Any + Send)) -> DomainError {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    tracing::error!(%domain, panic = %what, "domain handler panicked");
    metrics::counter!("gerak_actor_panics_total", "domain" => domain.name()).increment(1);
    DomainError::Internal(format!(
        "the {domain} domain failed while handling the request"
    ))
}

/// Delivers a message to a domain and waits for its answer.
pub(crate) async fn deliver<M, T>(
    domain: Domain,
    recipient: &Recipient<M>,
    message: M,
) -> Result<T, DomainError>
where
    M: Message<Result = Result<T, DomainError>> + Send + 'static,
    T: Send + 'static,
{
    match recipient.send(message).timeout(CALL_TIMEOUT).await {
        Ok(result) => result,
        Err(actix::MailboxError::Timeout) => Err(DomainError::Unavailable {
            domain,
            reason: "it did not answer in time".to_owned(),
        }),
        Err(actix::MailboxError::Closed) => Err(DomainError::Unavailable {
            domain,
            reason: "it is restarting".to_owned(),
        }),
    }
}

/// Readiness: the domain's actor answers and its database does too.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Ping;

impl Message for Ping {
    type Result = Result<DomainHealth, DomainError>;
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DomainHealth {
    pub domain: Domain,
    pub restarts: u64,
    pub database_ms: f64,
    /// Events committed but not yet published (grows while the bus is down).
    pub outbox_backlog: u64,
}

impl<S: DomainService> Handler<Ping> for DomainActor<S> {
    type Result = ResponseFuture<Result<DomainHealth, DomainError>>;

    fn handle(&mut self, _msg: Ping, ctx: &mut Self::Context) -> Self::Result {
        let stats = self.stats.clone();
        guard(self, ctx, |service| {
            let db = service.db().clone();
            async move {
                let started = std::time::Instant::now();
                db.ping().await?;
                let outbox_backlog = outbox::backlog(&db).await.map_err(|e| db.map_err(e))?;
                Ok(DomainHealth {
                    outbox_backlog,
                    domain: S::DOMAIN,
                    restarts: stats.restarts(),
                    database_ms: started.elapsed().as_secs_f64() * 1000.0,
                })
            }
        })
    }
}
