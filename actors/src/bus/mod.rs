//! The event bus between domains and toward other services. Domain code publishes and
//! subscribes through [`Bus`] and never knows which transport runs behind it.

mod in_process;
mod redis;

use std::{pin::Pin, sync::Arc};

use chrono::{DateTime, Utc};
use futures::{Stream, future::BoxFuture};
use serde::{Deserialize, Serialize};

pub use in_process::InProcessBus;
pub use redis::RedisBus;

use crate::runtime::Domain;

/// The envelope of `events.md`: `id` is the idempotency key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u32,
    pub occurred_at: DateTime<Utc>,
    pub source: Domain,
    pub data: serde_json::Value,
}

impl Event {
    /// A new event of `source`; `kind` is the part after the domain (`user_registered`).
    pub fn new(source: Domain, kind: &str, data: serde_json::Value) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            kind: format!("{source}.{kind}"),
            version: 1,
            occurred_at: Utc::now(),
            source,
            data,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the event bus is unreachable: {0}")]
    Unreachable(String),
}

pub type EventStream = Pin<Box<dyn Stream<Item = Arc<Event>> + Send>>;

/// A message another service sent us (a payment result), as it arrived: not yet parsed,
/// so that whatever it holds can be dead-lettered with a reason instead of lost.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub channel: String,
    pub payload: String,
    /// Set for stream entries: acknowledge once handled (applied or dead-lettered).
    pub ack: Option<StreamAck>,
}

#[derive(Debug, Clone)]
pub struct StreamAck {
    pub stream: String,
    pub group: String,
    pub id: String,
}

pub type InboundStream = Pin<Box<dyn Stream<Item = Inbound> + Send>>;

/// An event handed to a consuming domain, and what to acknowledge once it is applied.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event: Arc<Event>,
    /// Set for stream entries: until acknowledged the entry stays pending and is
    /// delivered again (to this consumer after a reconnect, or to another by XAUTOCLAIM).
    pub ack: Option<StreamAck>,
}

pub type DeliveryStream = Pin<Box<dyn Stream<Item = Delivery> + Send>>;

/// A transport for events.
pub trait Transport: Send + Sync + 'static {
    fn publish(&self, event: Event) -> BoxFuture<'_, Result<(), BusError>>;
    /// Several events in order, in as few round trips as the transport allows.
    fn publish_all(&self, events: Vec<Event>) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            for event in events {
                self.publish(event).await?;
            }
            Ok(())
        })
    }
    /// Live events of every domain, from now on (GraphQL subscriptions, caches): what is
    /// published while nobody listens is gone.
    fn subscribe(&self) -> EventStream;
    /// Every event of `sources` for the domain `consumer`, durably: each is delivered
    /// until acknowledged, in publication order per source.
    fn consume(&self, consumer: Domain, sources: &[Domain]) -> DeliveryStream;
    fn ping(&self) -> BoxFuture<'_, Result<(), BusError>>;
    fn name(&self) -> &'static str;
    /// Payment results from the payment provider's adapter; None when no transport
    /// carries them (in-process: only the `recordPayment` mutation does).
    fn inbound_payments(&self) -> Option<InboundStream>;
    fn ack(&self, ack: StreamAck) -> BoxFuture<'_, Result<(), BusError>>;
    /// Several acknowledgements, in as few round trips as the transport allows.
    fn ack_all(&self, acks: Vec<StreamAck>) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            for ack in acks {
                self.ack(ack).await?;
            }
            Ok(())
        })
    }
    /// Keeps a message that can never be applied, with why, for an operator to see.
    fn dead_letter(
        &self,
        reason: String,
        channel: String,
        payload: String,
    ) -> BoxFuture<'_, Result<(), BusError>>;
}

#[derive(Clone)]
pub struct Bus {
    transport: Arc<dyn Transport>,
}

impl Bus {
    pub fn new(transport: impl Transport) -> Self {
        Self {
            transport: Arc::new(transport),
        }
    }

    pub fn in_process() -> Self {
        Self::new(InProcessBus::default())
    }

    /// Publishes, reporting failure: the outbox relay retries until the bus takes it.
    pub async fn try_publish(&self, event: Event) -> Result<(), BusError> {
        let kind = event.kind.clone();
        self.transport.publish(event).await?;
        metrics::counter!("gerak_events_published_total", "type" => kind).increment(1);
        Ok(())
    }

    /// Publishes events in order (the outbox relay's batches), reporting failure.
    pub async fn try_publish_all(&self, events: Vec<Event>) -> Result<(), BusError> {
        let kinds: Vec<String> = events.iter().map(|e| e.kind.clone()).collect();
        self.transport.publish_all(events).await?;
        for kind in kinds {
            metrics::counter!("gerak_events_published_total", "type" => kind).increment(1);
        }
        Ok(())
    }

    pub fn subscribe(&self) -> EventStream {
        self.transport.subscribe()
    }

    pub fn consume(&self, consumer: Domain, sources: &[Domain]) -> DeliveryStream {
        self.transport.consume(consumer, sources)
    }

    pub async fn ping(&self) -> Result<(), BusError> {
        self.transport.ping().await
    }

    pub fn transport_name(&self) -> &'static str {
        self.transport.name()
    }

    pub fn inbound_payments(&self) -> Option<InboundStream> {
        self.transport.inbound_payments()
    }

    pub async fn ack(&self, ack: StreamAck) {
        if let Err(err) = self.transport.ack(ack).await {
            tracing::warn!(error = %err, "acknowledging a stream entry failed; it will be delivered again");
        }
    }

    pub async fn ack_all(&self, acks: Vec<StreamAck>) {
        if acks.is_empty() {
            return;
        }
        if let Err(err) = self.transport.ack_all(acks).await {
            tracing::warn!(error = %err, "acknowledging stream entries failed; they will be delivered again");
        }
    }

    pub async fn dead_letter(&self, reason: &str, channel: &str, payload: &str) {
        metrics::counter!("gerak_events_dead_lettered_total", "channel" => channel.to_owned())
            .increment(1);
        tracing::warn!(%reason, %channel, "a message was dead-lettered");
        if let Err(err) = self
            .transport
            .dead_letter(reason.to_owned(), channel.to_owned(), payload.to_owned())
            .await
        {
            tracing::error!(error = %err, %reason, "dead-lettering failed");
        }
    }
}
