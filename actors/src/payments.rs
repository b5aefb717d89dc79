//! Payment results from other services (the `gerak.payments` channel and stream of
//! `events.md`), applied to the donations domain exactly as `recordPayment` is. Anything
//! that cannot be applied is dead-lettered with its reason; nothing stops the consumer.

use futures::StreamExt;
use serde::Deserialize;

use crate::{
    DomainError,
    bus::{Bus, Inbound},
    donations::{DonationsHandle, RecordPayment},
    money::Money,
    runtime::Changes,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[allow(dead_code)]
    version: Option<u32>,
    #[allow(dead_code)]
    occurred_at: Option<String>,
    #[allow(dead_code)]
    source: Option<String>,
    data: PaymentData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentData {
    payment_ref: String,
    amount: String,
    currency: String,
}

/// Why a message is refused, or None if it was applied (or already had been).
async fn handle(donations: &DonationsHandle, payload: &str) -> Result<(), Refusal> {
    let envelope: Envelope = serde_json::from_str(payload)
        .map_err(|e| Refusal::Bad(format!("not a payment envelope: {e}")))?;
    let succeeded = match envelope.kind.as_str() {
        "payments.succeeded" => true,
        "payments.failed" => false,
        other => return Err(Refusal::Bad(format!("unknown message type `{other}`"))),
    };
    if envelope.id.trim().is_empty() {
        return Err(Refusal::Bad("the envelope has no id".to_owned()));
    }
    let amount = Money::parse("amount", &envelope.data.amount, &envelope.data.currency)
        .map_err(|e| Refusal::Bad(format!("invalid amount: {e}")))?;
    let result = donations
        .send(RecordPayment {
            payment_ref: envelope.data.payment_ref,
            succeeded,
            amount,
        })
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(err @ (DomainError::Unavailable { .. } | DomainError::Internal(_))) => {
            Err(Refusal::Retry(err.to_string()))
        }
        Err(err) => Err(Refusal::Bad(err.to_string())),
    }
}

enum Refusal {
    /// Will never apply: dead-letter it.
    Bad(String),
    /// The domain could not answer now: try again.
    Retry(String),
}

/// Feeds inbound payment results to the donations domain; `None` when the bus brings
/// none (the in-process bus). Aborted mid-payment, the result stays unacknowledged and is
/// delivered again (recording it twice changes nothing).
pub(crate) fn spawn_consumer(
    bus: &Bus,
    changes: &Changes,
    donations: DonationsHandle,
) -> Option<tokio::task::JoinHandle<()>> {
    let mut inbound = bus.inbound_payments()?;
    let bus = bus.clone();
    let changes = changes.clone();
    Some(tokio::spawn(async move {
        while let Some(Inbound {
            channel,
            payload,
            ack,
        }) = inbound.next().await
        {
            let mut delay = std::time::Duration::from_millis(100);
            let handled = loop {
                match handle(&donations, &payload).await {
                    Ok(()) => {
                        metrics::counter!("gerak_payments_applied_total").increment(1);
                        changes.notify();
                        break true;
                    }
                    Err(Refusal::Bad(reason)) => {
                        bus.dead_letter(&reason, &channel, &payload).await;
                        break true;
                    }
                    Err(Refusal::Retry(reason)) if delay < std::time::Duration::from_secs(30) => {
                        tracing::warn!(%reason, "a payment result could not be applied yet; retrying");
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                    // Left unacknowledged: the stream delivers it again after a restart.
                    Err(Refusal::Retry(reason)) => {
                        tracing::error!(%reason, "a payment result could not be applied; leaving it pending");
                        break false;
                    }
                }
            };
            if let (true, Some(ack)) = (handled, ack) {
                bus.ack(ack).await;
            }
        }
    }))
}
