use std::sync::Arc;

use futures::{StreamExt, future::BoxFuture};
use tokio::sync::broadcast;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use super::{BusError, Event, EventStream, InboundStream, StreamAck, Transport};

/// Buffer per subscriber; a subscriber that falls this far behind skips events (logged).
const CAPACITY: usize = 4096;

/// The embedded default: a broadcast channel inside this process.
pub struct InProcessBus {
    sender: broadcast::Sender<Arc<Event>>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        Self { sender }
    }
}

impl Transport for InProcessBus {
    fn publish(&self, event: Event) -> BoxFuture<'_, Result<(), BusError>> {
        // No subscriber is not an error: nobody is listening yet.
        let _ = self.sender.send(Arc::new(event));
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
