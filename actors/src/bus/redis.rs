//! The Redis transport: each event goes to the domain's durable stream
//! (`<prefix>:stream:<domain>`) and its live pub/sub channel (`<prefix>.events.<domain>`),
//! as `events.md` describes. Live subscribers share one pattern subscription that
//! reconnects by itself when Redis goes away.

use std::{sync::Arc, time::Duration};

use futures::{StreamExt, future::BoxFuture};
use redis::{AsyncCommands, Client, aio::ConnectionManager};
use tokio::sync::{OnceCell, broadcast};
use tokio_stream::wrappers::BroadcastStream;

use super::{BusError, Event, EventStream, Inbound, InboundStream, StreamAck, Transport};

/// Streams keep about this many entries per domain (trimmed approximately).
const STREAM_MAX_LEN: usize = 100_000;
const LIVE_CAPACITY: usize = 4096;

pub struct RedisBus {
    client: Client,
    prefix: String,
    publisher: OnceCell<ConnectionManager>,
    live: broadcast::Sender<Arc<Event>>,
    listening: OnceCell<()>,
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
            publisher: OnceCell::new(),
            live,
            listening: OnceCell::new(),
        })
    }

    pub fn channel(&self, domain: &str) -> String {
        format!("{}.events.{domain}", self.prefix)
    }

    pub fn stream(&self, domain: &str) -> String {
        format!("{}:stream:{domain}", self.prefix)
    }

    async fn connection(&self) -> Result<ConnectionManager, BusError> {
        self.publisher
            .get_or_try_init(|| async {
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
        Box::pin(async move {
            let payload = serde_json::to_string(&event)
                .map_err(|e| BusError::Unreachable(format!("encoding an event: {e}")))?;
            let domain = event.source.name();
            let mut connection = self.connection().await?;
            let mut pipe = redis::pipe();
            pipe.cmd("XADD")
                .arg(self.stream(domain))
                .arg("MAXLEN")
                .arg("~")
                .arg(STREAM_MAX_LEN)
                .arg("*")
                .arg("event")
                .arg(&payload)
                .ignore()
                .cmd("PUBLISH")
                .arg(self.channel(domain))
                .arg(&payload)
                .ignore();
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
