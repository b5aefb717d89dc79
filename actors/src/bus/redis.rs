//! The Redis transport: each event goes to the domain's durable stream
//! (`<prefix>:stream:<domain>`) and its live pub/sub channel (`<prefix>.events.<domain>`),
//! as `events.md` describes. Live subscribers share one pattern subscription that
//! reconnects by itself when Redis goes away.

use std::{sync::Arc, time::Duration};

use futures::{StreamExt, future::BoxFuture};
use redis::{AsyncCommands, Client, aio::ConnectionManager};
use tokio::sync::{OnceCell, broadcast};
use tokio_stream::wrappers::BroadcastStream;

use super::{BusError, Event, EventStream, Transport};

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
}
