//! The transactional outbox: a domain stages its events in its own database, in the
//! transaction of the change they describe; a relay on the domain's thread publishes them
//! and marks each published once the bus took it. An event survives a crash right after
//! the commit and a bus that is down (the relay retries with backoff); an event of a
//! change that rolled back is never published.
//!
//! Two ways in, one relay. After each commit the events are also handed to the relay in
//! memory, which publishes them in commit order without reading them back. The table is
//! read on start, after a failure, and once a second: for events this process committed
//! but could not hand over (it stopped, or the bus was down), or that another process
//! left.
//!
//! Marking rows published is the marker's work, beside the relay: a publish never waits
//! for the previous batch's UPDATE (on PostgreSQL, a round trip and a WAL flush). Until
//! the marker catches up a published row still reads as unpublished, so the relay
//! remembers what it published lately and never sends it again; a row whose mark failed
//! is published again once forgotten (at least once: consumers deduplicate by event id).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use chrono::Utc;
use gerak_entities::outbox::outbox_event;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
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
/// How often old published rows are deleted, and how many seqs one DELETE covers at most.
const CLEANUP_EVERY: Duration = Duration::from_secs(60);
const CLEANUP_CHUNK: i64 = 10_000;
/// How often the relay reads the table when events arrive in memory.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Events waiting in memory at most; beyond, they are left to the table (with no relay
/// running, the hand-over would otherwise grow without bound).
const MAX_HANDED: usize = 10_000;
/// Ids published and not yet marked, at most; beyond, the marks are dropped and the rows
/// published again later (the database has been failing for a long while by then).
const MAX_UNMARKED: usize = 100_000;
/// Ids of published events are remembered this long: longer than the marker takes to
/// mark them, so that a read of the table meanwhile does not publish them again.
const REMEMBER_PUBLISHED: Duration = Duration::from_secs(30);
/// Event ids one UPDATE marks at most (they are bound parameters).
const MARK_CHUNK: usize = 500;
/// How long the marker gathers ids after marking some: a mark is a write transaction of
/// its own, and nothing waits for it (the relay remembers what it published).
const MARK_EVERY: Duration = Duration::from_millis(100);

fn rows_of(events: &[Event]) -> Vec<outbox_event::ActiveModel> {
    events
        .iter()
        .map(|event| outbox_event::ActiveModel {
            event_id: Set(event.id.clone()),
            event_type: Set(event.kind.clone()),
            payload: Set(serde_json::to_string(event).unwrap_or_default()),
            created_at: Set(Utc::now()),
            published_at: Set(None),
            ..Default::default()
        })
        .collect()
}

/// A domain's side of its outbox: stage events, then hand them to the relay after commit.
#[derive(Clone, Default)]
pub struct Outbox {
    wake: Arc<Notify>,
    /// Committed events the relay has not taken yet, in commit order.
    handed: Arc<Mutex<Vec<Event>>>,
}

impl Outbox {
    /// Writes `rows` and then `events` in `txn`, in one statement where the database
    /// allows it; the events are published after it commits.
    pub(crate) async fn stage_with<A: ActiveModelTrait>(
        &self,
        txn: &DatabaseTransaction,
        rows: Vec<A>,
        events: &[Event],
    ) -> Result<(), DbErr> {
        crate::batch_sql::insert_rows_together(txn, rows, rows_of(events)).await
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

    /// The relay and its marker: run on the domain's Arbiter for as long as it lives.
    pub(crate) async fn relay(self, domain: Domain, db: DomainDb, bus: Bus) {
        let marks = Marks::default();
        tokio::join!(
            self.publish_loop(domain, &db, &bus, &marks),
            mark_loop(domain, &db, &marks)
        );
    }

    async fn publish_loop(self, domain: Domain, db: &DomainDb, bus: &Bus, marks: &Marks) {
        let mut delay = Duration::from_millis(50);
        let mut last_poll = Instant::now();
        // On start and after a failure, the table is read until it is drained, and events
        // arriving in memory meanwhile are dropped (the table has them): so the events
        // left behind go out first, in order.
        let mut recovering = true;
        let mut published = Published::default();
        loop {
            let result = if recovering || last_poll.elapsed() >= POLL_EVERY {
                if recovering {
                    drop(self.take_handed());
                }
                last_poll = Instant::now();
                published.forget_old();
                publish_pending(domain, db, bus, &mut published)
                    .await
                    .inspect(|read| recovering = read.full && read.published > 0)
                    .map(|read| read.published)
            } else {
                let handed = self.take_handed();
                publish_handed(domain, bus, handed, &mut published, marks).await
            };
            match result {
                Ok(0) => {
                    delay = Duration::from_millis(50);
                    // Woken by a commit, or in time for the next read of the table.
                    let _ = tokio::time::timeout(
                        POLL_EVERY.saturating_sub(last_poll.elapsed()),
                        self.wake.notified(),
                    )
                    .await;
                }
                Ok(_) => delay = Duration::from_millis(50),
                Err(_) if db.is_closed() => return,
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

/// Ids of events the relay published lately, and when.
#[derive(Default)]
struct Published(HashMap<String, Instant>);

impl Published {
    fn contains(&self, id: &str) -> bool {
        self.0.contains_key(id)
    }

    fn remember(&mut self, ids: &[String]) {
        let now = Instant::now();
        self.0.extend(ids.iter().map(|id| (id.clone(), now)));
    }

    fn forget_old(&mut self) {
        self.0.retain(|_, at| at.elapsed() < REMEMBER_PUBLISHED);
    }
}

/// Ids published and waiting to be marked in the table, handed from the relay to the
/// marker.
#[derive(Clone, Default)]
struct Marks {
    ids: Arc<Mutex<Vec<String>>>,
    wake: Arc<Notify>,
}

impl Marks {
    fn add(&self, ids: Vec<String>) {
        {
            let mut waiting = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
            if waiting.len() + ids.len() <= MAX_UNMARKED {
                waiting.extend(ids);
            }
        }
        self.wake.notify_one();
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.ids.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Publishes events handed over in memory; the marker marks them. On failure they stay
/// unpublished in the table, where the relay's recovery finds them.
async fn publish_handed(
    domain: Domain,
    bus: &Bus,
    events: Vec<Event>,
    published: &mut Published,
    marks: &Marks,
) -> Result<usize, String> {
    // Those a read of the table already published go out once.
    let events: Vec<Event> = events
        .into_iter()
        .filter(|event| !published.contains(&event.id))
        .collect();
    if events.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = events.iter().map(|event| event.id.clone()).collect();
    bus.try_publish_all(events)
        .await
        .map_err(|e| e.to_string())?;
    metrics::counter!("gerak_outbox_handed_published_total", "domain" => domain.name())
        .increment(ids.len() as u64);
    published.remember(&ids);
    let count = ids.len();
    marks.add(ids);
    Ok(count)
}

/// What one read of the table did.
struct TableRead {
    /// The read returned a whole batch: more may follow.
    full: bool,
    published: usize,
}

/// Pages one read of the table may skip past rows published lately, at most.
const SKIP_PAGES: usize = 5;

/// Publishes the oldest unpublished events in the table, in order, and marks them. Rows
/// published lately from memory (their marks are on the way) are skipped, a page at a
/// time, so that the events behind them are found.
async fn publish_pending(
    domain: Domain,
    db: &DomainDb,
    bus: &Bus,
    published: &mut Published,
) -> Result<TableRead, String> {
    let mut after = None;
    let mut pages = 0;
    let (pending, full) = loop {
        // Read beside the writer (on SQLite a reader sees every commit made before it
        // starts, and the relay is woken after the commit).
        let mut query = outbox_event::Entity::find()
            .filter(outbox_event::Column::PublishedAt.is_null())
            .order_by_asc(outbox_event::Column::Seq)
            .limit(BATCH);
        if let Some(seq) = after {
            query = query.filter(outbox_event::Column::Seq.gt(seq));
        }
        let page = query.all(&db.read).await.map_err(|e| e.to_string())?;
        let full = page.len() == BATCH as usize;
        after = page.last().map(|row| row.seq);
        let pending: Vec<_> = page
            .into_iter()
            .filter(|row| !published.contains(&row.event_id))
            .collect();
        pages += 1;
        if !pending.is_empty() || !full || pages == SKIP_PAGES {
            break (pending, full);
        }
    };
    metrics::gauge!("gerak_outbox_backlog", "domain" => domain.name()).set(pending.len() as f64);
    if pending.is_empty() {
        return Ok(TableRead { full, published: 0 });
    }
    // The whole batch in one round trip to the bus and marked at once (this way is rare:
    // on start, after a failure, for stragglers), so that the next read moves past it.
    // If either fails the batch is sent again (consumers deduplicate by event id), never
    // skipped.
    let mut ids = Vec::with_capacity(pending.len());
    let mut events = Vec::with_capacity(pending.len());
    for row in pending {
        match serde_json::from_str::<Event>(&row.payload) {
            Ok(event) => events.push(event),
            Err(err) => {
                tracing::error!(%domain, seq = row.seq, error = %err, "an outbox row is not an event; marked published and skipped")
            }
        }
        ids.push(row.event_id);
    }
    bus.try_publish_all(events)
        .await
        .map_err(|e| e.to_string())?;
    published.remember(&ids);
    mark_published(db, &ids).await.map_err(|e| e.to_string())?;
    Ok(TableRead {
        full,
        published: ids.len(),
    })
}

/// The marker: marks published rows in batches as they come, retrying with backoff, and
/// deletes the rows published long ago.
async fn mark_loop(domain: Domain, db: &DomainDb, marks: &Marks) {
    let mut delay = Duration::from_millis(50);
    let mut last_cleanup = Instant::now();
    loop {
        let ids = marks.take();
        if !ids.is_empty() {
            match mark_published(db, &ids).await {
                Ok(()) => {
                    delay = Duration::from_millis(50);
                    tokio::time::sleep(MARK_EVERY).await;
                }
                // Stopping: the rows are published again on the next start (at least
                // once; consumers deduplicate by event id).
                Err(_) if db.is_closed() => return,
                Err(err) => {
                    metrics::counter!("gerak_outbox_mark_errors_total", "domain" => domain.name())
                        .increment(1);
                    tracing::warn!(%domain, error = %err, retry_in_ms = delay.as_millis() as u64, "marking published events failed; retrying");
                    marks.add(ids);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                    continue;
                }
            }
        }
        if last_cleanup.elapsed() >= CLEANUP_EVERY {
            last_cleanup = Instant::now();
            if let Err(err) = delete_old_published(db).await {
                tracing::warn!(%domain, error = %err, "deleting old published events failed; next round");
            }
        }
        let _ = tokio::time::timeout(CLEANUP_EVERY, marks.wake.notified()).await;
    }
}

async fn mark_published(db: &DomainDb, ids: &[String]) -> Result<(), DbErr> {
    let now = Utc::now();
    for chunk in ids.chunks(MARK_CHUNK) {
        let update = outbox_event::Entity::update_many();
        let update = if db.backend() == DbBackend::Postgres {
            // One text whatever the number of ids (see `batch_sql`), found through the
            // unique index on `event_id`: with `published_at IS NULL` in the WHERE the
            // planner walks the pending index instead, and without autovacuum that index
            // holds every row inserted since the last VACUUM (15 ms an UPDATE under load).
            update
                .col_expr(
                    outbox_event::Column::PublishedAt,
                    Expr::cust_with_values("COALESCE(\"published_at\", $1)", [now]),
                )
                .filter(crate::batch_sql::any_of("event_id", chunk))
        } else {
            update
                .col_expr(outbox_event::Column::PublishedAt, Expr::value(now))
                .filter(outbox_event::Column::PublishedAt.is_null())
                .filter(outbox_event::Column::EventId.is_in(chunk.iter().cloned()))
        };
        update.exec(&db.write).await?;
    }
    Ok(())
}

/// Deletes the rows published before `KEEP_PUBLISHED` ago, by ranges of `seq` (the
/// primary key; no index on `published_at` to keep up), a chunk per statement so that no
/// DELETE holds the writer long. Rows still unpublished are never deleted.
async fn delete_old_published(db: &DomainDb) -> Result<(), DbErr> {
    let cutoff = Utc::now() - KEEP_PUBLISHED;
    let first_published: Option<i64> = outbox_event::Entity::find()
        .select_only()
        .column(outbox_event::Column::Seq)
        .filter(outbox_event::Column::PublishedAt.is_not_null())
        .order_by_asc(outbox_event::Column::Seq)
        .into_tuple()
        .one(&db.read)
        .await?;
    let Some(mut from) = first_published else {
        return Ok(());
    };
    // Rows from the first one created since the cutoff on are kept.
    let first_kept: Option<i64> = outbox_event::Entity::find()
        .select_only()
        .column(outbox_event::Column::Seq)
        .filter(outbox_event::Column::CreatedAt.gte(cutoff))
        .order_by_asc(outbox_event::Column::Seq)
        .into_tuple()
        .one(&db.read)
        .await?;
    let until = match first_kept {
        Some(seq) => seq,
        None => {
            let last: Option<i64> = outbox_event::Entity::find()
                .select_only()
                .column(outbox_event::Column::Seq)
                .order_by_desc(outbox_event::Column::Seq)
                .into_tuple()
                .one(&db.read)
                .await?;
            last.map_or(from, |seq| seq + 1)
        }
    };
    while from < until {
        let to = until.min(from.saturating_add(CLEANUP_CHUNK));
        outbox_event::Entity::delete_many()
            .filter(outbox_event::Column::Seq.gte(from))
            .filter(outbox_event::Column::Seq.lt(to))
            .filter(outbox_event::Column::PublishedAt.lt(cutoff))
            .exec(&db.write)
            .await?;
        from = to;
    }
    Ok(())
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
    let no_rows = Vec::<outbox_event::ActiveModel>::new();
    commit_with_rows(db, outbox, txn, no_rows, events).await
}

/// [`commit_with`], writing `rows` first (with the events, in one statement where the
/// database allows it).
pub(crate) async fn commit_with_rows<A: ActiveModelTrait>(
    db: &DomainDb,
    outbox: &Outbox,
    txn: DatabaseTransaction,
    rows: Vec<A>,
    events: Vec<Event>,
) -> Result<(), crate::DomainError> {
    outbox
        .stage_with(&txn, rows, &events)
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
    use crate::db::ScratchDb;

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
        let scratch = ScratchDb::open(Domain::Users).await.unwrap();
        let db = scratch.db.clone();
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
            .stage_with(
                &txn,
                Vec::<outbox_event::ActiveModel>::new(),
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
    }

    #[tokio::test]
    async fn cleanup_deletes_only_rows_published_long_ago() {
        let scratch = ScratchDb::open(Domain::Users).await.unwrap();
        let db = scratch.db.clone();
        let hours_ago = |h: i64| Utc::now() - chrono::TimeDelta::minutes(h * 60);
        // (event id, created, published)
        let rows = [
            ("old-published", hours_ago(3), Some(hours_ago(3))),
            ("old-unpublished", hours_ago(3), None),
            ("old-published-late", hours_ago(2), Some(Utc::now())),
            ("older-published", hours_ago(4), Some(hours_ago(4))),
            ("recent-published", Utc::now(), Some(Utc::now())),
            ("recent-unpublished", Utc::now(), None),
        ];
        for (id, created, published) in rows {
            outbox_event::Entity::insert(outbox_event::ActiveModel {
                event_id: Set(id.to_owned()),
                event_type: Set("users.user_registered".to_owned()),
                payload: Set("{}".to_owned()),
                created_at: Set(created),
                published_at: Set(published),
                ..Default::default()
            })
            .exec(&db.write)
            .await
            .unwrap();
        }
        delete_old_published(&db).await.unwrap();
        let mut left: Vec<String> = outbox_event::Entity::find()
            .all(&db.read)
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.event_id)
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "old-published-late",
                "old-unpublished",
                "recent-published",
                "recent-unpublished"
            ]
        );
        // Nothing new to delete: a second round changes nothing.
        delete_old_published(&db).await.unwrap();
        assert_eq!(
            outbox_event::Entity::find().count(&db.read).await.unwrap(),
            4
        );
    }
}
