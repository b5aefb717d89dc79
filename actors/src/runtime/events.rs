//! Consuming events: a task per consuming domain reads the bus and hands each event it
//! wants to the domain's actor; the domain applies it in one transaction with a record
//! of its id (the inbox), so an event delivered twice is applied once.

use std::{sync::Arc, time::Duration};

use actix::Message;
use chrono::Utc;
use futures::StreamExt;
use gerak_entities::inbox::processed_event;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, DbErr, SqlErr};

use super::{Domain, Route};
use crate::{
    DomainError,
    bus::{Bus, Delivery, Event},
};

/// Apply one event to the domain's state.
#[derive(Debug, Clone)]
pub struct ApplyEvent(pub Arc<Event>);

impl Message for ApplyEvent {
    type Result = Result<(), DomainError>;
}

/// Records `event` as applied inside `txn`. False if it already was: the caller then
/// rolls back (drops the transaction) and does nothing.
pub(crate) async fn claim(txn: &DatabaseTransaction, event: &Event) -> Result<bool, DbErr> {
    let row = processed_event::ActiveModel {
        event_id: Set(event.id.clone()),
        event_type: Set(event.kind.clone()),
        processed_at: Set(Utc::now()),
    };
    match row.insert(txn).await {
        Ok(_) => Ok(true),
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Ok(false)
        }
        Err(err) => Err(err),
    }
}

/// Counts the state changes this process applied from events (projections, payments),
/// so that whatever keeps copies of what readers saw (the front door's response cache)
/// knows when to forget them. Changes made by requests are known to the caller already.
#[derive(Clone)]
pub struct Changes(Arc<tokio::sync::watch::Sender<u64>>);

impl Default for Changes {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::watch::channel(0).0))
    }
}

impl Changes {
    pub fn notify(&self) {
        self.0.send_modify(|count| *count = count.wrapping_add(1));
    }

    /// Wakes on every change after this call.
    pub fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// Feeds the events `wants` selects, of the domains in `sources`, to the domain behind
/// `handle`, in stream order. Each is acknowledged once applied (or once it proves it can
/// never be: then it is dead-lettered); one the domain could not apply for a minute (its
/// database down) is left pending, and the bus delivers it again later.
pub(crate) fn spawn_consumer<H>(
    domain: Domain,
    bus: &Bus,
    changes: &Changes,
    handle: H,
    sources: &[Domain],
    wants: fn(&Event) -> bool,
) -> ConsumerTask
where
    H: Route<ApplyEvent> + Clone + Send + Sync + 'static,
{
    let bus = bus.clone();
    let changes = changes.clone();
    let sources = sources.to_vec();
    let start = move || {
        let mut deliveries = bus.consume(domain, &sources);
        let (bus, changes, handle) = (bus.clone(), changes.clone(), handle.clone());
        tokio::spawn(async move {
            while let Some(Delivery { event, ack }) = deliveries.next().await {
                let channel = ack.as_ref().map_or_else(
                    || format!("in-process:{}", event.source.name()),
                    |a| a.stream.clone(),
                );
                let settled =
                    !wants(&event) || apply(domain, &bus, &handle, &event, &channel).await;
                if settled {
                    changes.notify();
                    if let Some(ack) = ack {
                        bus.ack(ack).await;
                    }
                }
            }
        })
    };
    let running = start();
    ConsumerTask {
        domain,
        start: Box::new(start),
        running: std::sync::Mutex::new(running),
    }
}

/// A consuming domain's running consumer.
pub struct ConsumerTask {
    pub domain: Domain,
    start: Box<dyn Fn() -> tokio::task::JoinHandle<()> + Send + Sync>,
    running: std::sync::Mutex<tokio::task::JoinHandle<()>>,
}

impl ConsumerTask {
    pub fn stop(&self) {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .abort();
    }

    /// Kills the consumer wherever it is (what it read and did not acknowledge stays
    /// pending) and starts a new one, as a crash and restart would.
    pub fn restart(&self) {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        running.abort();
        *running = (self.start)();
    }
}

/// Applies one event, retrying while the domain is unavailable. True when it is settled:
/// applied, or refused for good (dead-lettered).
async fn apply<H>(domain: Domain, bus: &Bus, handle: &H, event: &Arc<Event>, channel: &str) -> bool
where
    H: Route<ApplyEvent>,
{
    let mut delay = Duration::from_millis(50);
    loop {
        let result = super::deliver(domain, handle.recipient(), ApplyEvent(event.clone())).await;
        match result {
            Ok(()) => {
                metrics::counter!("gerak_events_consumed_total", "domain" => domain.name())
                    .increment(1);
                return true;
            }
            Err(DomainError::Unavailable { .. } | DomainError::Internal(_))
                if delay < Duration::from_secs(30) =>
            {
                tracing::warn!(%domain, event = %event.kind, id = %event.id, "applying an event failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(err @ (DomainError::Unavailable { .. } | DomainError::Internal(_))) => {
                metrics::counter!("gerak_events_failed_total", "domain" => domain.name())
                    .increment(1);
                tracing::error!(%domain, event = %event.kind, id = %event.id, error = %err, "an event could not be applied; leaving it pending");
                return false;
            }
            Err(err) => {
                metrics::counter!("gerak_events_failed_total", "domain" => domain.name())
                    .increment(1);
                let payload = serde_json::to_string(event.as_ref()).unwrap_or_default();
                bus.dead_letter(
                    &format!("{domain} cannot apply it: {err}"),
                    channel,
                    &payload,
                )
                .await;
                return true;
            }
        }
    }
}

/// A text field of an event's data.
pub(crate) fn event_text<'a>(
    data: &'a serde_json::Value,
    field: &str,
) -> Result<&'a str, DomainError> {
    data.get(field)
        .and_then(|v| v.as_str())
        .ok_or_else(|| DomainError::invalid(field, "missing from the event"))
}

/// A money field of an event's data: `{"amount": "50000", "currency": "IDR"}`.
pub(crate) fn event_money(
    data: &serde_json::Value,
    field: &str,
) -> Result<crate::money::Money, DomainError> {
    let value = data
        .get(field)
        .ok_or_else(|| DomainError::invalid(field, "missing from the event"))?;
    crate::money::Money::parse(
        field,
        value
            .get("amount")
            .and_then(|v| v.as_str())
            .unwrap_or_default(),
        value
            .get("currency")
            .and_then(|v| v.as_str())
            .unwrap_or_default(),
    )
}
