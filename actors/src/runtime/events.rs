//! Consuming events: a task per consuming domain reads the bus and hands each event it
//! wants to the domain's actor; the domain applies it in one transaction with a record
//! of its id (the inbox), so an event delivered twice is applied once.

use std::{sync::Arc, time::Duration};

use actix::Message;
use chrono::Utc;
use futures::StreamExt;
use gerak_entities::inbox::processed_event;
use sea_orm::{ActiveValue::Set, DatabaseTransaction, DbErr, EntityTrait, sea_query::OnConflict};

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

/// Apply several events, in order. Domains whose projections take many events a second
/// apply them in one transaction; if the batch fails, its events are applied one by one.
#[derive(Debug, Clone)]
pub struct ApplyEvents(pub Vec<Arc<Event>>);

impl Message for ApplyEvents {
    type Result = Result<(), DomainError>;
}

/// `ApplyEvents` for a domain that applies each event in its own transaction: in order,
/// stopping at the first failure (a retry of the batch skips those already applied).
pub(crate) async fn one_by_one<F, Fut>(
    events: Vec<Arc<Event>>,
    mut apply: F,
) -> Result<(), DomainError>
where
    F: FnMut(ApplyEvent) -> Fut,
    Fut: std::future::Future<Output = Result<(), DomainError>>,
{
    for event in events {
        apply(ApplyEvent(event)).await?;
    }
    Ok(())
}

/// Events the consumer hands its domain at once at most.
const MAX_BATCH: usize = 128;
/// How long a consumer waits, after an event arrives, for more to apply with it. Each
/// batch costs a transaction and an acknowledgement whatever its size: at 1,000 payments
/// a second over PostgreSQL, this took the campaigns and reports domains from about 240
/// and 200 transactions a second to 95 and 60. A projection is this much later in return.
const LINGER: Duration = Duration::from_millis(10);

/// Records `event` as applied inside `txn`. False if it already was: the caller then
/// skips it. A conflict is not an error, so the transaction stays usable for the other
/// events of a batch (on PostgreSQL a failed statement would abort it).
pub(crate) async fn claim(txn: &DatabaseTransaction, event: &Event) -> Result<bool, DbErr> {
    let inserted = processed_event::Entity::insert(processed(event, Utc::now()))
        .on_conflict(already_processed())
        .exec_without_returning(txn)
        .await?;
    Ok(inserted == 1)
}

fn processed(event: &Event, at: chrono::DateTime<Utc>) -> processed_event::ActiveModel {
    processed_event::ActiveModel {
        event_id: Set(event.id.clone()),
        event_type: Set(event.kind.clone()),
        processed_at: Set(at),
    }
}

/// An event id recorded before is skipped, not an error.
fn already_processed() -> OnConflict {
    OnConflict::column(processed_event::Column::EventId)
        .do_nothing()
        .to_owned()
}

/// Records every event of a batch as applied inside `txn`, in one statement; returns the
/// ids that were not applied before (an id twice in the batch is returned once: apply it
/// once). Like [`claim`], conflicts are skipped, not errors.
pub(crate) async fn claim_all(
    txn: &DatabaseTransaction,
    events: &[Arc<Event>],
) -> Result<std::collections::HashSet<String>, DbErr> {
    let now = Utc::now();
    // In id order: two instances claiming overlapping batches (a redelivery) then wait
    // for each other instead of deadlocking.
    let mut sorted: Vec<&Arc<Event>> = events.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let rows = sorted
        .into_iter()
        .map(|event| processed(event, now))
        .collect();
    let claimed =
        crate::batch_sql::insert_rows_returning(txn, rows, &[processed_event::Column::EventId])
            .await?;
    Ok(claimed.into_iter().map(|row| row.event_id).collect())
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
    H: Route<ApplyEvent> + Route<ApplyEvents> + Clone + Send + Sync + 'static,
{
    let bus = bus.clone();
    let changes = changes.clone();
    let sources = sources.to_vec();
    let start = move || {
        // What arrives within `LINGER` of an event, up to a batch.
        let mut deliveries = Box::pin(tokio_stream::StreamExt::chunks_timeout(
            bus.consume(domain, &sources),
            MAX_BATCH,
            LINGER,
        ));
        let (bus, changes, handle) = (bus.clone(), changes.clone(), handle.clone());
        tokio::spawn(async move {
            while let Some(batch) = deliveries.next().await {
                let wanted: Vec<&Delivery> = batch.iter().filter(|d| wants(&d.event)).collect();
                let mut settled = apply_batch(domain, &bus, &handle, &wanted)
                    .await
                    .into_iter();
                let mut any = false;
                let mut acks = Vec::with_capacity(batch.len());
                for Delivery { event, ack } in batch {
                    // Unwanted events are settled as they are.
                    let done = !wants(&event) || settled.next().unwrap_or(false);
                    any |= done;
                    if let (true, Some(ack)) = (done, ack) {
                        acks.push(ack);
                    }
                }
                // One round trip for the batch (the bus delivers what stays pending again).
                bus.ack_all(acks).await;
                if any {
                    changes.notify();
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

/// Applies `wanted` in one message when there are several; if that fails, one by one,
/// each with its own retries and dead-lettering. Says, per event, whether it is settled.
async fn apply_batch<H>(domain: Domain, bus: &Bus, handle: &H, wanted: &[&Delivery]) -> Vec<bool>
where
    H: Route<ApplyEvent> + Route<ApplyEvents>,
{
    if wanted.len() > 1 {
        let events = wanted.iter().map(|d| d.event.clone()).collect();
        match super::deliver(domain, handle.recipient(), ApplyEvents(events)).await {
            Ok(()) => {
                metrics::counter!("gerak_events_consumed_total", "domain" => domain.name())
                    .increment(wanted.len() as u64);
                return vec![true; wanted.len()];
            }
            Err(err) => {
                tracing::debug!(%domain, events = wanted.len(), error = %err, "a batch of events failed; applying them one by one");
            }
        }
    }
    let mut settled = Vec::with_capacity(wanted.len());
    for delivery in wanted {
        let channel = delivery.ack.as_ref().map_or_else(
            || format!("in-process:{}", delivery.event.source.name()),
            |a| a.stream.clone(),
        );
        settled.push(apply(domain, bus, handle, &delivery.event, &channel).await);
    }
    settled
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

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, PaginatorTrait, TransactionTrait};

    use super::*;
    use crate::db::ScratchDb;

    #[tokio::test]
    async fn a_batch_claims_each_event_once() {
        let scratch = ScratchDb::open(Domain::Reports).await.unwrap();
        let db = &scratch.db;
        let event = |n: i32| {
            Arc::new(Event::new(
                Domain::Donations,
                "donation_paid",
                serde_json::json!({ "n": n }),
            ))
        };
        let (a, b, c) = (event(1), event(2), event(3));

        let txn = db.write.begin().await.unwrap();
        assert!(claim(&txn, &a).await.unwrap());
        txn.commit().await.unwrap();

        // `a` was applied before and `b` comes twice (a redelivery within the batch).
        let txn = db.write.begin().await.unwrap();
        let fresh = claim_all(&txn, &[a.clone(), b.clone(), c.clone(), b.clone()])
            .await
            .unwrap();
        txn.commit().await.unwrap();
        let mut fresh: Vec<String> = fresh.into_iter().collect();
        fresh.sort();
        let mut expected = vec![b.id.clone(), c.id.clone()];
        expected.sort();
        assert_eq!(fresh, expected);

        // Again: nothing is new, and a rolled-back claim leaves nothing behind.
        let txn = db.write.begin().await.unwrap();
        assert!(claim_all(&txn, &[a, b, c]).await.unwrap().is_empty());
        let later = event(4);
        drop(txn);
        let txn = db.write.begin().await.unwrap();
        assert_eq!(claim_all(&txn, &[later]).await.unwrap().len(), 1);
        drop(txn);
        assert_eq!(
            processed_event::Entity::find()
                .count(&db.read)
                .await
                .unwrap(),
            3
        );
    }
}
