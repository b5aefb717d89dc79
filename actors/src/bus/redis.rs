//! The Redis transport: each event goes to the domain's durable stream
//! (`<prefix>:stream:<domain>`) and its live pub/sub channel (`<prefix>.events.<domain>`),
//! as `events.md` describes. Live subscribers share one pattern subscription that
//! reconnects by itself when Redis goes away. Consuming domains read the streams in a
//! consumer group each (`gerak-<domain>`): an entry stays pending until the domain has
//! applied it, and entries a dead consumer left pending are taken over (XAUTOCLAIM).
//! Streams are trimmed only below what every group has acknowledged.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{StreamExt, future::BoxFuture};
use redis::{AsyncCommands, Client, aio::ConnectionManager};
use tokio::sync::{OnceCell, broadcast};
use tokio_stream::wrappers::BroadcastStream;

use super::{
    BusError, Delivery, DeliveryStream, Event, EventStream, Inbound, InboundStream, StreamAck,
    Transport,
};
use crate::runtime::Domain;

/// A stream no group reads keeps about this many entries (trimmed approximately).
const STREAM_MAX_LEN: usize = 100_000;
/// How often streams are trimmed and their groups' lag measured.
const TRIM_EVERY: Duration = Duration::from_secs(10);
/// Entries a consumer reads at a time.
const BATCH: usize = 100;
const LIVE_CAPACITY: usize = 4096;

pub struct RedisBus {
    client: Client,
    prefix: String,
    /// For acknowledgements, trimming and pings.
    control: OnceCell<ConnectionManager>,
    /// One per source domain, made by the first publish, which is the domain's relay on
    /// the domain's own thread: the connection's I/O runs there too, and a publish does
    /// not wait for a busy HTTP worker to write it and read the answer.
    publishers: [OnceCell<ConnectionManager>; Domain::ALL.len()],
    live: broadcast::Sender<Arc<Event>>,
    listening: OnceCell<()>,
    trimming: OnceCell<()>,
    claim_idle: Duration,
}

impl RedisBus {
    /// Checks the URL; connections are made when first needed and remade when lost.
    pub fn connect(url: &str, prefix: &str) -> Result<Self, BusError> {
        let client = Client::open(url)
            .map_err(|e| BusError::Unreachable(format!("invalid Redis URL: {e}")))?;
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            control: OnceCell::new(),
            publishers: Default::default(),
            live,
            listening: OnceCell::new(),
            trimming: OnceCell::new(),
            claim_idle: Duration::from_secs(60),
        })
    }

    /// How long an entry stays pending with a consumer before another takes it over.
    /// Longer than any handler runs (a domain call times out after 10 s and an event is
    /// retried for about a minute), or a slow consumer and its successor would both work
    /// on it (harmless, the inbox applies it once, but wasted).
    pub fn with_claim_idle(mut self, idle: Duration) -> Self {
        self.claim_idle = idle.max(Duration::from_millis(100));
        self
    }

    pub fn channel(&self, domain: &str) -> String {
        format!("{}.events.{domain}", self.prefix)
    }

    pub fn stream(&self, domain: &str) -> String {
        format!("{}:stream:{domain}", self.prefix)
    }

    async fn connection(&self) -> Result<ConnectionManager, BusError> {
        self.connect_once(&self.control).await
    }

    async fn publisher(&self, source: Domain) -> Result<ConnectionManager, BusError> {
        let index = Domain::ALL
            .iter()
            .position(|domain| *domain == source)
            .unwrap_or_default();
        self.connect_once(&self.publishers[index]).await
    }

    async fn connect_once(
        &self,
        cell: &OnceCell<ConnectionManager>,
    ) -> Result<ConnectionManager, BusError> {
        cell.get_or_try_init(|| async {
            tokio::time::timeout(Duration::from_secs(3), self.client.get_connection_manager())
                .await
                .map_err(|_| BusError::Unreachable("Redis did not answer in time".to_owned()))?
                .map_err(|e| BusError::Unreachable(e.to_string()))
        })
        .await
        .cloned()
    }

    /// One task per bus forwards the pattern subscription to every live subscriber,
    /// resubscribing with backoff whenever the connection drops.
    fn ensure_listening(&self) {
        if self.listening.initialized() {
            return;
        }
        let _ = self.listening.set(());
        let client = self.client.clone();
        let pattern = format!("{}.events.*", self.prefix);
        let live = self.live.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => match pubsub.psubscribe(&pattern).await {
                        Ok(()) => {
                            delay = Duration::from_millis(100);
                            let mut messages = pubsub.on_message();
                            while let Some(message) = messages.next().await {
                                let Ok(payload) = message.get_payload::<String>() else {
                                    continue;
                                };
                                match serde_json::from_str::<Event>(&payload) {
                                    Ok(event) => {
                                        let _ = live.send(Arc::new(event));
                                    }
                                    Err(err) => {
                                        tracing::warn!(error = %err, "an event on the bus is not an envelope; ignored")
                                    }
                                }
                            }
                            tracing::warn!("the Redis subscription ended; resubscribing");
                        }
                        Err(err) => tracing::warn!(error = %err, "subscribing on Redis failed"),
                    },
                    Err(err) => {
                        tracing::warn!(error = %err, "connecting to Redis for subscriptions failed")
                    }
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        });
    }
}

/// The consumer group every instance reads the payments stream in: each entry goes to
/// one instance, and stays pending until acknowledged.
const PAYMENTS_GROUP: &str = "gerak-donations";

impl RedisBus {
    /// Live payment results on the pub/sub channel (only while subscribed).
    fn listen_payments_channel(&self, tx: tokio::sync::mpsc::Sender<Inbound>) {
        let client = self.client.clone();
        let channel = format!("{}.payments", self.prefix);
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            while !tx.is_closed() {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                        Ok(()) => {
                            delay = Duration::from_millis(100);
                            let mut messages = pubsub.on_message();
                            while let Some(message) = messages.next().await {
                                let payload = message.get_payload::<String>().unwrap_or_default();
                                let inbound = Inbound {
                                    channel: channel.clone(),
                                    payload,
                                    ack: None,
                                };
                                if tx.send(inbound).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Err(err) => tracing::warn!(error = %err, "subscribing to payments failed"),
                    },
                    Err(err) => {
                        tracing::warn!(error = %err, "connecting to Redis for payments failed")
                    }
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        });
    }

    /// Durable payment results from the stream, read in a consumer group: what arrived
    /// while we were down is read now; what we read but did not acknowledge is read again.
    fn read_payments_stream(&self, tx: tokio::sync::mpsc::Sender<Inbound>) {
        use redis::streams::{StreamReadOptions, StreamReadReply};
        let client = self.client.clone();
        let stream = format!("{}:stream:payments", self.prefix);
        let consumer = format!("gerak-{}", uuid::Uuid::now_v7().simple());
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            // Our own pending entries first ("0"), then new ones (">").
            let mut from_pending = true;
            while !tx.is_closed() {
                // Its own connection, without a response timeout: XREADGROUP BLOCK waits
                // on purpose, and would hold up anything else multiplexed on it.
                let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
                let mut connection = match client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                {
                    Ok(connection) => connection,
                    Err(err) => {
                        tracing::warn!(error = %err, "connecting to Redis for the payments stream failed");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                        continue;
                    }
                };
                if let Err(err) = connection
                    .xgroup_create_mkstream::<_, _, _, ()>(&stream, PAYMENTS_GROUP, "0")
                    .await
                    && !err.to_string().contains("BUSYGROUP")
                {
                    tracing::warn!(error = %err, "creating the payments consumer group failed");
                    tokio::time::sleep(delay).await;
                    continue;
                }
                delay = Duration::from_millis(100);
                loop {
                    let options = StreamReadOptions::default()
                        .group(PAYMENTS_GROUP, &consumer)
                        .count(100)
                        .block(2000);
                    let start = if from_pending { "0" } else { ">" };
                    let reply: Result<Option<StreamReadReply>, _> = connection
                        .xread_options(&[&stream], &[start], &options)
                        .await;
                    let reply = match reply {
                        Ok(reply) => reply,
                        Err(err) => {
                            tracing::warn!(error = %err, "reading the payments stream failed; reconnecting");
                            break;
                        }
                    };
                    let entries: Vec<_> = reply
                        .into_iter()
                        .flat_map(|r| r.keys)
                        .flat_map(|k| k.ids)
                        .collect();
                    if from_pending && entries.is_empty() {
                        from_pending = false;
                    }
                    for entry in entries {
                        let payload = entry.get::<String>("event").unwrap_or_default();
                        let inbound = Inbound {
                            channel: stream.clone(),
                            payload,
                            ack: Some(StreamAck {
                                stream: stream.clone(),
                                group: PAYMENTS_GROUP.to_owned(),
                                id: entry.id,
                            }),
                        };
                        if tx.send(inbound).await.is_err() {
                            return;
                        }
                    }
                }
                tokio::time::sleep(delay).await;
            }
        });
    }
}

impl Transport for RedisBus {
    fn publish(&self, event: Event) -> BoxFuture<'_, Result<(), BusError>> {
        self.publish_all(vec![event])
    }

    /// One pipeline for the whole batch: a round trip per batch, not per event.
    fn publish_all(&self, events: Vec<Event>) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            let Some(first) = events.first() else {
                return Ok(());
            };
            let mut connection = self.publisher(first.source).await?;
            let mut pipe = redis::pipe();
            for event in &events {
                let payload = serde_json::to_string(event)
                    .map_err(|e| BusError::Unreachable(format!("encoding an event: {e}")))?;
                let domain = event.source.name();
                // No MAXLEN here: it would trim entries a slow group has not read yet.
                pipe.cmd("XADD")
                    .arg(self.stream(domain))
                    .arg("*")
                    .arg("event")
                    .arg(&payload)
                    .ignore()
                    .cmd("PUBLISH")
                    .arg(self.channel(domain))
                    .arg(&payload)
                    .ignore();
            }
            pipe.query_async::<()>(&mut connection)
                .await
                .map_err(|e| BusError::Unreachable(e.to_string()))
        })
    }

    fn subscribe(&self) -> EventStream {
        self.ensure_listening();
        Box::pin(
            BroadcastStream::new(self.live.subscribe()).filter_map(|item| async move { item.ok() }),
        )
    }

    fn consume(&self, consumer: Domain, sources: &[Domain]) -> DeliveryStream {
        self.ensure_trimming();
        let (tx, rx) = tokio::sync::mpsc::channel(BATCH * 2);
        let reader = GroupReader {
            client: self.client.clone(),
            streams: sources.iter().map(|d| self.stream(d.name())).collect(),
            group: format!("gerak-{}", consumer.name()),
            consumer: format!("{}-{}", consumer.name(), uuid::Uuid::now_v7().simple()),
            claim_idle: self.claim_idle,
            dead_letter: format!("{}:stream:dead-letter", self.prefix),
            tx,
        };
        tokio::spawn(reader.run());
        Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            tokio::time::timeout(Duration::from_secs(2), connection.ping::<String>())
                .await
                .map_err(|_| BusError::Unreachable("Redis did not answer in time".to_owned()))?
                .map(|_| ())
                .map_err(|e| BusError::Unreachable(e.to_string()))
        })
    }

    fn name(&self) -> &'static str {
        "redis"
    }

    fn inbound_payments(&self) -> Option<InboundStream> {
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        self.listen_payments_channel(tx.clone());
        self.read_payments_stream(tx);
        Some(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    fn ack(&self, ack: StreamAck) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            connection
                .xack::<_, _, _, usize>(&ack.stream, &ack.group, &[&ack.id])
                .await
                .map(|_| ())
                .map_err(|e| BusError::Unreachable(e.to_string()))
        })
    }

    /// One XACK per stream and group, all in one pipeline.
    fn ack_all(&self, acks: Vec<StreamAck>) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            let mut by_group: Vec<(&str, &str, Vec<&str>)> = Vec::new();
            for ack in &acks {
                match by_group
                    .iter_mut()
                    .find(|(stream, group, _)| *stream == ack.stream && *group == ack.group)
                {
                    Some((_, _, ids)) => ids.push(&ack.id),
                    None => by_group.push((&ack.stream, &ack.group, vec![&ack.id])),
                }
            }
            let mut pipe = redis::pipe();
            for (stream, group, ids) in by_group {
                pipe.cmd("XACK").arg(stream).arg(group).arg(ids).ignore();
            }
            let mut connection = self.connection().await?;
            pipe.query_async::<()>(&mut connection)
                .await
                .map_err(|e| BusError::Unreachable(e.to_string()))
        })
    }

    fn dead_letter(
        &self,
        reason: String,
        channel: String,
        payload: String,
    ) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let key = format!("{}:stream:dead-letter", self.prefix);
            connection
                .xadd::<_, _, _, _, Option<String>>(
                    key,
                    "*",
                    &[
                        ("reason", reason),
                        ("channel", channel),
                        ("payload", payload),
                    ],
                )
                .await
                .map(|_| ())
                .map_err(|e| BusError::Unreachable(e.to_string()))
        })
    }
}

/// One consuming domain's reader of the streams it follows, in its group.
struct GroupReader {
    client: Client,
    streams: Vec<String>,
    group: String,
    consumer: String,
    claim_idle: Duration,
    dead_letter: String,
    tx: tokio::sync::mpsc::Sender<Delivery>,
}

impl GroupReader {
    /// Reads until the domain stops listening, reconnecting with backoff. After every
    /// (re)connection it first reads what it was given and did not acknowledge yet.
    async fn run(self) {
        let mut delay = Duration::from_millis(100);
        while !self.tx.is_closed() {
            match self.session().await {
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!(group = %self.group, error = %err, "reading the event streams failed; reconnecting");
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// One connection's worth of reading; `Ok` when the domain stopped listening.
    async fn session(&self) -> redis::RedisResult<()> {
        use redis::streams::{StreamReadOptions, StreamReadReply};
        // Its own connection, without a response timeout: XREADGROUP BLOCK waits on
        // purpose, and would hold up anything else multiplexed on it.
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
        let mut connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        for stream in &self.streams {
            // From the start of the stream: a new group misses nothing still kept.
            if let Err(err) = connection
                .xgroup_create_mkstream::<_, _, _, ()>(stream, &self.group, "0")
                .await
                && !err.to_string().contains("BUSYGROUP")
            {
                return Err(err);
            }
        }
        // Per stream: where in our own pending entries we are, or ">" for new ones.
        let mut cursors: Vec<String> = vec!["0".to_owned(); self.streams.len()];
        let mut last_claim: Option<Instant> = None;
        loop {
            if self.tx.is_closed() {
                return Ok(());
            }
            let claim_every = (self.claim_idle / 2).max(Duration::from_millis(100));
            if last_claim.is_none_or(|at| at.elapsed() >= claim_every) {
                self.claim(&mut connection).await?;
                last_claim = Some(Instant::now());
            }
            let reading_pending = cursors.iter().any(|c| c != ">");
            let mut options = StreamReadOptions::default()
                .group(&self.group, &self.consumer)
                .count(BATCH);
            if !reading_pending {
                let wait = claim_every.min(Duration::from_secs(2));
                options = options.block(usize::try_from(wait.as_millis()).unwrap_or(2000));
            }
            let reply: Option<StreamReadReply> = connection
                .xread_options(&self.streams, &cursors, &options)
                .await?;
            let mut seen = vec![false; self.streams.len()];
            for key in reply.map(|r| r.keys).unwrap_or_default() {
                let Some(index) = self.streams.iter().position(|s| *s == key.key) else {
                    continue;
                };
                for entry in key.ids {
                    seen[index] = true;
                    if cursors[index] != ">" {
                        cursors[index] = entry.id.clone();
                    }
                    if !self.deliver(&mut connection, &key.key, entry).await? {
                        return Ok(());
                    }
                }
            }
            for (cursor, seen) in cursors.iter_mut().zip(seen) {
                if *cursor != ">" && !seen {
                    *cursor = ">".to_owned();
                }
            }
        }
    }

    /// Takes over entries that sat pending with any consumer (a dead one, usually)
    /// longer than `claim_idle`.
    async fn claim(
        &self,
        connection: &mut redis::aio::MultiplexedConnection,
    ) -> redis::RedisResult<()> {
        use redis::streams::{StreamAutoClaimOptions, StreamAutoClaimReply};
        let idle = u64::try_from(self.claim_idle.as_millis()).unwrap_or(u64::MAX);
        for stream in &self.streams {
            let mut start = "0-0".to_owned();
            // Bounded: a huge backlog is taken over a batch per round.
            for _ in 0..10 {
                let reply: StreamAutoClaimReply = connection
                    .xautoclaim_options(
                        stream,
                        &self.group,
                        &self.consumer,
                        idle,
                        &start,
                        StreamAutoClaimOptions::default().count(BATCH),
                    )
                    .await?;
                if !reply.claimed.is_empty() {
                    metrics::counter!("gerak_events_reclaimed_total", "group" => self.group.clone())
                        .increment(reply.claimed.len() as u64);
                    tracing::info!(group = %self.group, %stream, entries = reply.claimed.len(), "took over entries a consumer left pending");
                }
                for entry in reply.claimed {
                    if !self.deliver(connection, stream, entry).await? {
                        return Ok(());
                    }
                }
                if reply.next_stream_id == "0-0" {
                    break;
                }
                start = reply.next_stream_id;
            }
        }
        Ok(())
    }

    /// Hands one entry to the domain; false when the domain stopped listening. An entry
    /// that is not an event is dead-lettered and acknowledged: it can never be applied.
    async fn deliver(
        &self,
        connection: &mut redis::aio::MultiplexedConnection,
        stream: &str,
        entry: redis::streams::StreamId,
    ) -> redis::RedisResult<bool> {
        let payload = entry.get::<String>("event").unwrap_or_default();
        match serde_json::from_str::<Event>(&payload) {
            Ok(event) => {
                let delivery = Delivery {
                    event: Arc::new(event),
                    ack: Some(StreamAck {
                        stream: stream.to_owned(),
                        group: self.group.clone(),
                        id: entry.id,
                    }),
                };
                Ok(self.tx.send(delivery).await.is_ok())
            }
            Err(err) => {
                let reason = format!("not an event envelope: {err}");
                tracing::warn!(%stream, %reason, "dead-lettering a stream entry");
                metrics::counter!("gerak_events_dead_lettered_total", "channel" => stream.to_owned())
                    .increment(1);
                let _: String = connection
                    .xadd(
                        &self.dead_letter,
                        "*",
                        &[
                            ("reason", reason.as_str()),
                            ("channel", stream),
                            ("payload", payload.as_str()),
                        ],
                    )
                    .await?;
                let _: usize = connection.xack(stream, &self.group, &[&entry.id]).await?;
                Ok(true)
            }
        }
    }
}

impl RedisBus {
    /// One task per bus trims every stream below what all its groups acknowledged and
    /// reports each group's lag and pending entries as metrics.
    fn ensure_trimming(&self) {
        if self.trimming.initialized() {
            return;
        }
        let _ = self.trimming.set(());
        let client = self.client.clone();
        let mut streams: Vec<String> = Domain::ALL.iter().map(|d| self.stream(d.name())).collect();
        streams.push(format!("{}:stream:payments", self.prefix));
        tokio::spawn(async move {
            let mut connection = None;
            loop {
                tokio::time::sleep(TRIM_EVERY).await;
                if connection.is_none() {
                    connection = client.get_multiplexed_async_connection().await.ok();
                }
                let Some(c) = connection.as_mut() else {
                    continue;
                };
                for stream in &streams {
                    if let Err(err) = trim(c, stream).await {
                        tracing::debug!(%stream, error = %err, "trimming a stream failed; next round");
                        connection = None;
                        break;
                    }
                }
            }
        });
    }
}

/// Trims `stream` below the oldest entry some group still needs: its oldest pending
/// entry, or the last one delivered to it. A stream no group reads keeps its last
/// `STREAM_MAX_LEN` entries for whoever comes later.
async fn trim(
    connection: &mut redis::aio::MultiplexedConnection,
    stream: &str,
) -> redis::RedisResult<()> {
    use redis::streams::{StreamInfoGroupsReply, StreamPendingReply};
    let exists: bool = connection.exists(stream).await?;
    if !exists {
        return Ok(());
    }
    let groups: StreamInfoGroupsReply = connection.xinfo_groups(stream).await?;
    let mut keep_from: Option<(u64, u64)> = None;
    for group in &groups.groups {
        metrics::gauge!("gerak_stream_group_lag", "stream" => stream.to_owned(), "group" => group.name.clone())
            .set(group.lag.unwrap_or(0) as f64);
        metrics::gauge!("gerak_stream_group_pending", "stream" => stream.to_owned(), "group" => group.name.clone())
            .set(group.pending as f64);
        forget_gone_consumers(connection, stream, &group.name).await?;
        let needed = if group.pending > 0 {
            let pending: StreamPendingReply = connection.xpending(stream, &group.name).await?;
            match pending {
                StreamPendingReply::Data(data) => data.start_id,
                _ => group.last_delivered_id.clone(),
            }
        } else {
            group.last_delivered_id.clone()
        };
        let id = parse_id(&needed);
        keep_from = Some(keep_from.map_or(id, |k| k.min(id)));
    }
    match keep_from {
        Some((ms, seq)) => {
            let _: usize = redis::cmd("XTRIM")
                .arg(stream)
                .arg("MINID")
                .arg("~")
                .arg(format!("{ms}-{seq}"))
                .query_async(connection)
                .await?;
        }
        None => {
            let _: usize = redis::cmd("XTRIM")
                .arg(stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(STREAM_MAX_LEN)
                .query_async(connection)
                .await?;
        }
    }
    let length: usize = connection.xlen(stream).await?;
    metrics::gauge!("gerak_stream_length", "stream" => stream.to_owned()).set(length as f64);
    Ok(())
}

/// Each start of a server adds a consumer to every group it reads; those that stopped
/// long ago and hold nothing are removed, so that the group lists only live ones. One
/// that still holds pending entries stays until XAUTOCLAIM has moved them.
async fn forget_gone_consumers(
    connection: &mut redis::aio::MultiplexedConnection,
    stream: &str,
    group: &str,
) -> redis::RedisResult<()> {
    const GONE_AFTER_MS: usize = 60 * 60 * 1000;
    let consumers: redis::streams::StreamInfoConsumersReply =
        connection.xinfo_consumers(stream, group).await?;
    for consumer in consumers.consumers {
        if consumer.pending == 0 && consumer.idle > GONE_AFTER_MS {
            let _: usize = connection
                .xgroup_delconsumer(stream, group, &consumer.name)
                .await?;
        }
    }
    Ok(())
}

/// A stream id `ms-seq` as numbers, for ordering; anything else sorts first (keeps all).
fn parse_id(id: &str) -> (u64, u64) {
    let mut parts = id.splitn(2, '-');
    let ms = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let seq = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (ms, seq)
}
