//! The transactional outbox: a domain stages its events in its own database, in the
//! transaction of the change they describe; a relay on the domain's thread publishes them
//! and marks each published only once the bus took it. An event survives a crash right
//! after the commit and a bus that is down (the relay retries with backoff); an event of a
//! change that rolled back is never published.
//!
//! Two ways in, one relay. After each commit the events are also handed to the relay in
//! memory, which publishes them in commit order without reading them back (on PostgreSQL
//! the read costs more than the rest: published rows leave dead index entries behind until
//! vacuum). The table is read on start, after a failure, and once a second: for events
//! this process committed but could not hand over (it stopped, or the bus was down), or
//! that another process left.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use chrono::Utc;
use gerak_entities::outbox::outbox_event;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use tokio::sync::Notify;

use super::Domain;
use crate::{
    bus::{Bus, Event},
    db::DomainDb,
};

const BATCH: u64 = 200;
/// Published rows are kept this long (for operators), then deleted.
const KEEP_PUBLISHED: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// How often the relay reads the table when events arrive in memory.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Events waiting in memory at most; beyond, they are left to the table (with no relay
/// running, the hand-over would otherwise grow without bound).
const MAX_HANDED: usize = 10_000;
/// Ids a read of the table published are remembered this long, so that the same events
/// arriving in memory afterwards are not published twice.
const REMEMBER_POLLED: Duration = Duration::from_secs(30);

/// A domain's side of its outbox: stage events, then hand them to the relay after commit.
#[derive(Clone, Default)]
pub struct Outbox {
    wake: Arc<Notify>,
    /// Committed events the relay has not taken yet, in commit order.
    handed: Arc<Mutex<Vec<Event>>>,
}

impl Outbox {
    /// Writes `events` in `txn`; they are published after it commits.
    pub(crate) async fn stage(
        &self,
        txn: &DatabaseTransaction,
        events: &[Event],
    ) -> Result<(), DbErr> {
        if events.is_empty() {
            return Ok(());
        }
        let rows = events.iter().map(|event| outbox_event::ActiveModel {
            event_id: Set(event.id.clone()),
            event_type: Set(event.kind.clone()),
            payload: Set(serde_json::to_string(event).unwrap_or_default()),
            created_at: Set(Utc::now()),
            published_at: Set(None),
            ..Default::default()
        });
        outbox_event::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
        Ok(())
    }

    /// Hands committed events to the relay (call after commit).
    pub(crate) fn hand_over(&self, events: Vec<Event>) {
        {
            let mut handed = self.handed.lock().unwrap_or_else(PoisonError::into_inner);
            if handed.len() + events.len() <= MAX_HANDED {
                handed.extend(events);
            }
            // Otherwise they stay in the table, where the relay's next read finds them.
        }
        self.wake.notify_one();
    }

    fn take_handed(&self) -> Vec<Event> {
        std::mem::take(&mut *self.handed.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The relay: runs on the domain's Arbiter for as long as it lives.
    pub(crate) async fn relay(self, domain: Domain, db: DomainDb, bus: Bus) {
        let mut delay = Duration::from_millis(50);
        let mut last_cleanup = Instant::now();
        let mut last_poll = Instant::now();
        // On start and after a failure, the table is read until it is drained, and events
        // arriving in memory meanwhile are dropped (the table has them): so the events
        // left behind go out first, in order.
        let mut recovering = true;
        let mut polled: HashMap<String, Instant> = HashMap::new();
        loop {
            let result = if recovering || last_poll.elapsed() >= POLL_EVERY {
                if recovering {
                    drop(self.take_handed());
                }
                last_poll = Instant::now();
                polled.retain(|_, at| at.elapsed() < REMEMBER_POLLED);
                publish_pending(domain, &db, &bus, &mut polled)
                    .await
                    .inspect(|&published| recovering = published == BATCH as usize)
            } else {
                let handed: Vec<Event> = self
                    .take_handed()
                    .into_iter()
                    .filter(|event| !polled.contains_key(&event.id))
                    .collect();
                publish_handed(domain, &db, &bus, handed).await
            };
            match result {
                Ok(0) => {
                    delay = Duration::from_millis(50);
                    if last_cleanup.elapsed() > Duration::from_secs(60) {
                        last_cleanup = Instant::now();
                        let _ = outbox_event::Entity::delete_many()
                            .filter(
                                outbox_event::Column::PublishedAt.lt(Utc::now() - KEEP_PUBLISHED),
                            )
                            .exec(&db.write)
                            .await;
                    }
                    // Woken by a commit, or in time for the next read of the table.
                    let _ = tokio::time::timeout(
                        POLL_EVERY.saturating_sub(last_poll.elapsed()),
                        self.wake.notified(),
                    )
                    .await;
                }
                Ok(_) => delay = Duration::from_millis(50),
                Err(reason) => {
                    recovering = true;
                    metrics::counter!("gerak_outbox_relay_errors_total", "domain" => domain.name())
                        .increment(1);
                    tracing::warn!(%domain, %reason, retry_in_ms = delay.as_millis() as u64, "the outbox relay could not publish; retrying");
                    let _ = tokio::time::timeout(delay, self.wake.notified()).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}

/// Publishes events handed over in memory and marks them published. On failure they
/// stay unpublished in the table, where the relay's recovery finds them.
async fn publish_handed(
    domain: Domain,
    db: &DomainDb,
    bus: &Bus,
    events: Vec<Event>,
) -> Result<usize, String> {
    if events.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = events.iter().map(|event| event.id.clone()).collect();
    let published = ids.len();
    bus.try_publish_all(events)
        .await
        .map_err(|e| e.to_string())?;
    metrics::counter!("gerak_outbox_handed_published_total", "domain" => domain.name())
        .increment(published as u64);
    // In chunks: the ids are bound parameters.
    for chunk in ids.chunks(BATCH as usize) {
        outbox_event::Entity::update_many()
            .col_expr(outbox_event::Column::PublishedAt, Expr::value(Utc::now()))
            .filter(outbox_event::Column::EventId.is_in(chunk.iter().cloned()))
            .filter(outbox_event::Column::PublishedAt.is_null())
            .exec(&db.write)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(published)
}

/// Publishes the oldest unpublished events in the table, in order, and remembers their
/// ids in `polled`. Returns how many were published.
async fn publish_pending(
    domain: Domain,
    db: &DomainDb,
    bus: &Bus,
    polled: &mut HashMap<String, Instant>,
) -> Result<usize, String> {
    // Read beside the writer (on SQLite a reader sees every commit made before it starts,
    // and the relay is woken after the commit): only the mark below waits for it.
    let pending = outbox_event::Entity::find()
        .filter(outbox_event::Column::PublishedAt.is_null())
        .order_by_asc(outbox_event::Column::Seq)
        .limit(BATCH)
        .all(&db.read)
        .await
        .map_err(|e| e.to_string())?;
    let backlog = pending.len();
    metrics::gauge!("gerak_outbox_backlog", "domain" => domain.name()).set(backlog as f64);
    if pending.is_empty() {
        return Ok(0);
    }
    // The whole batch in one round trip to the bus and one UPDATE: if either fails the
    // batch is sent again (consumers deduplicate by event id), never skipped.
    let mut seqs = Vec::with_capacity(pending.len());
    let mut events = Vec::with_capacity(pending.len());
    for row in pending {
        seqs.push(row.seq);
        match serde_json::from_str::<Event>(&row.payload) {
            Ok(event) => {
                polled.insert(event.id.clone(), Instant::now());
                events.push(event)
            }
            Err(err) => {
                tracing::error!(%domain, seq = row.seq, error = %err, "an outbox row is not an event; skipped")
            }
        }
    }
    bus.try_publish_all(events)
        .await
        .map_err(|e| e.to_string())?;
    let published = seqs.len();
    outbox_event::Entity::update_many()
        .col_expr(outbox_event::Column::PublishedAt, Expr::value(Utc::now()))
        .filter(outbox_event::Column::Seq.is_in(seqs))
        .exec(&db.write)
        .await
        .map_err(|e| e.to_string())?;
    Ok(published)
}

/// Events staged but not yet published (for readiness and metrics).
pub async fn backlog(db: &DomainDb) -> Result<u64, DbErr> {
    outbox_event::Entity::find()
        .filter(outbox_event::Column::PublishedAt.is_null())
        .count(&db.read)
        .await
}

/// Stages `events` in `txn`, commits, and wakes the relay: the one way domains publish.
pub(crate) async fn commit_with(
    db: &DomainDb,
    outbox: &Outbox,
    txn: DatabaseTransaction,
    events: Vec<Event>,
) -> Result<(), crate::DomainError> {
    outbox
        .stage(&txn, &events)
        .await
        .map_err(|e| db.map_err(e))?;
    txn.commit().await.map_err(|e| db.map_err(e))?;
    if !events.is_empty() {
        outbox.hand_over(events);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Mutex,
        atomic::{AtomicU32, Ordering},
    };

    use futures::{StreamExt, future::BoxFuture};
    use sea_orm::TransactionTrait;

    use super::*;
    use crate::bus::{BusError, DeliveryStream, EventStream, InboundStream, StreamAck, Transport};

    /// A bus that is down for its first `failures` publishes, then records what it gets.
    #[derive(Default)]
    struct Flaky {
        failures: AtomicU32,
        published: Arc<Mutex<Vec<String>>>,
    }

    impl Transport for Flaky {
        fn publish(&self, event: Event) -> BoxFuture<'_, Result<(), BusError>> {
            let down = self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if !down {
                self.published.lock().unwrap().push(event.id);
            }
            Box::pin(async move {
                if down {
                    Err(BusError::Unreachable("down".into()))
                } else {
                    Ok(())
                }
            })
        }
        fn subscribe(&self) -> EventStream {
            Box::pin(futures::stream::empty().boxed())
        }
        fn consume(&self, _consumer: Domain, _sources: &[Domain]) -> DeliveryStream {
            Box::pin(futures::stream::empty().boxed())
        }
        fn ping(&self) -> BoxFuture<'_, Result<(), BusError>> {
            Box::pin(async { Ok(()) })
        }
        fn name(&self) -> &'static str {
            "flaky"
        }
        fn inbound_payments(&self) -> Option<InboundStream> {
            None
        }
        fn ack(&self, _ack: StreamAck) -> BoxFuture<'_, Result<(), BusError>> {
            Box::pin(async { Ok(()) })
        }
        fn dead_letter(
            &self,
            _r: String,
            _c: String,
            _p: String,
        ) -> BoxFuture<'_, Result<(), BusError>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn each_event_is_published_once_in_order_and_rollbacks_publish_nothing() {
        let dir =
            std::env::temp_dir().join(format!("gerak-outbox-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = DomainDb::connect(
            Domain::Users,
            &format!("sqlite://{}/users.db?mode=rwc", dir.display()),
        )
        .await
        .unwrap();
        crate::system::migrate(&db).await.unwrap();
        let published = Arc::new(Mutex::new(Vec::new()));
        let bus = Bus::new(Flaky {
            failures: AtomicU32::new(3),
            published: published.clone(),
        });
        let outbox = Outbox::default();

        // Staged while the bus is down (the relay is not even running yet).
        let mut expected = Vec::new();
        for i in 0..5 {
            let event = Event::new(
                Domain::Users,
                "user_registered",
                serde_json::json!({ "n": i }),
            );
            expected.push(event.id.clone());
            let txn = db.write.begin().await.unwrap();
            commit_with(&db, &outbox, txn, vec![event]).await.unwrap();
        }
        // A change that rolls back publishes nothing.
        let txn = db.write.begin().await.unwrap();
        outbox
            .stage(
                &txn,
                &[Event::new(
                    Domain::Users,
                    "user_registered",
                    serde_json::json!({}),
                )],
            )
            .await
            .unwrap();
        drop(txn);
        assert_eq!(backlog(&db).await.unwrap(), 5);

        let relay = tokio::spawn(outbox.clone().relay(Domain::Users, db.clone(), bus));
        let started = std::time::Instant::now();
        while backlog(&db).await.unwrap() > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the relay did not catch up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            *published.lock().unwrap(),
            expected,
            "every event once, in order"
        );

        // Running: events handed over after commit go out in commit order, and an event
        // committed without being handed over (another process's) is found by the relay's
        // periodic read of the table. Each once.
        let another_process = Outbox::default();
        let mut handed = Vec::new();
        for i in 0..3 {
            let event = Event::new(Domain::Users, "user_updated", serde_json::json!({ "n": i }));
            handed.push(event.id.clone());
            let txn = db.write.begin().await.unwrap();
            commit_with(&db, &outbox, txn, vec![event]).await.unwrap();
        }
        let unhanded = Event::new(Domain::Users, "user_updated", serde_json::json!({}));
        let unhanded_id = unhanded.id.clone();
        let txn = db.write.begin().await.unwrap();
        commit_with(&db, &another_process, txn, vec![unhanded])
            .await
            .unwrap();
        let started = std::time::Instant::now();
        while published.lock().unwrap().len() < 9 || backlog(&db).await.unwrap() > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the relay did not publish the later events: {:?}",
                published.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        relay.abort();
        let all = published.lock().unwrap().clone();
        assert_eq!(all.len(), 9, "each event once: {all:?}");
        let later: Vec<&String> = all[5..].iter().filter(|id| **id != unhanded_id).collect();
        assert_eq!(
            later,
            handed.iter().collect::<Vec<_>>(),
            "handed over in commit order"
        );
        assert!(all.contains(&unhanded_id));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
