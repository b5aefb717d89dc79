use std::sync::{Arc, Mutex, PoisonError};

use futures::{StreamExt, future::BoxFuture};
use tokio::sync::broadcast;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use super::{
    BusError, Delivery, DeliveryStream, Event, EventStream, InboundStream, StreamAck, Transport,
};
use crate::runtime::Domain;

/// Buffer per subscriber; a subscriber that falls this far behind skips events (logged).
const CAPACITY: usize = 4096;

/// The embedded default: a broadcast channel inside this process for live listeners,
/// and a queue per consuming domain that never drops an event, however far behind its
/// domain falls.
pub struct InProcessBus {
    sender: broadcast::Sender<Arc<Event>>,
    consumers: Mutex<Vec<Consumer>>,
}

struct Consumer {
    sources: Vec<Domain>,
    queue: tokio::sync::mpsc::UnboundedSender<Arc<Event>>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        Self {
            sender,
            consumers: Mutex::new(Vec::new()),
        }
    }
}

impl Transport for InProcessBus {
    fn publish(&self, event: Event) -> BoxFuture<'_, Result<(), BusError>> {
        let event = Arc::new(event);
        {
            let mut consumers = self
                .consumers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // A consumer whose stream was dropped is gone for good.
            consumers.retain(|c| !c.queue.is_closed());
            for consumer in consumers.iter() {
                if consumer.sources.contains(&event.source) {
                    let _ = consumer.queue.send(event.clone());
                }
            }
        }
        // No subscriber is not an error: nobody is listening yet.
        let _ = self.sender.send(event);
        Box::pin(async { Ok(()) })
    }

    fn subscribe(&self) -> EventStream {
        Box::pin(
            BroadcastStream::new(self.sender.subscribe()).filter_map(|item| async move {
                match item {
                    Ok(event) => Some(event),
                    Err(BroadcastStreamRecvError::Lagged(skipped)) => {
                        tracing::warn!(skipped, "a slow subscriber skipped events");
                        None
                    }
                }
            }),
        )
    }

    fn consume(&self, _consumer: Domain, sources: &[Domain]) -> DeliveryStream {
        let (queue, events) = tokio::sync::mpsc::unbounded_channel();
        self.consumers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Consumer {
                sources: sources.to_vec(),
                queue,
            });
        Box::pin(
            tokio_stream::wrappers::UnboundedReceiverStream::new(events)
                .map(|event| Delivery { event, ack: None }),
        )
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async { Ok(()) })
    }

    fn name(&self) -> &'static str {
        "in-process"
    }

    fn inbound_payments(&self) -> Option<InboundStream> {
        None
    }

    fn ack(&self, _ack: StreamAck) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async { Ok(()) })
    }

    fn dead_letter(
        &self,
        _reason: String,
        _channel: String,
        _payload: String,
    ) -> BoxFuture<'_, Result<(), BusError>> {
        // Logged and counted by the bus; nothing outside this process could read more.
        Box::pin(async { Ok(()) })
    }
}
