//! Consuming events: a task per consuming domain reads the bus and hands each event it
//! wants to the domain's actor; the domain applies it in one transaction with a record
//! of its id (the inbox), so an event delivered twice is applied once.

use std::{sync::Arc, time::Duration};

use actix::Message;
use chrono::Utc;
use futures::StreamExt;
use gerak_entities::inbox::processed_event;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, DbErr, SqlErr};

use super::{Domain, Route};
use crate::{
    DomainError,
    bus::{Bus, Event},
};

/// Apply one event to the domain's state.
#[derive(Debug, Clone)]
pub struct ApplyEvent(pub Arc<Event>);

impl Message for ApplyEvent {
    type Result = Result<(), DomainError>;
}

/// Records `event` as applied inside `txn`. False if it already was: the caller then
/// rolls back (drops the transaction) and does nothing.
pub(crate) async fn claim(txn: &DatabaseTransaction, event: &Event) -> Result<bool, DbErr> {
    let row = processed_event::ActiveModel {
        event_id: Set(event.id.clone()),
        event_type: Set(event.kind.clone()),
        processed_at: Set(Utc::now()),
    };
    match row.insert(txn).await {
        Ok(_) => Ok(true),
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Ok(false)
        }
        Err(err) => Err(err),
    }
}

/// Feeds the events `wants` selects to the domain behind `handle`, in bus order, retrying
/// an event the domain could not apply (its database may be down) before the next one.
pub(crate) fn spawn_consumer<H>(domain: Domain, bus: &Bus, handle: H, wants: fn(&Event) -> bool)
where
    H: Route<ApplyEvent> + Send + Sync + 'static,
{
    let mut events = bus.subscribe();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            if !wants(&event) {
                continue;
            }
            let mut delay = Duration::from_millis(50);
            loop {
                let result =
                    super::deliver(domain, handle.recipient(), ApplyEvent(event.clone())).await;
                match result {
                    Ok(()) => {
                        metrics::counter!("gerak_events_consumed_total", "domain" => domain.name())
                            .increment(1);
                        break;
                    }
                    Err(DomainError::Unavailable { .. } | DomainError::Internal(_))
                        if delay < Duration::from_secs(30) =>
                    {
                        tracing::warn!(%domain, event = %event.kind, id = %event.id, "applying an event failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                    Err(err) => {
                        metrics::counter!("gerak_events_failed_total", "domain" => domain.name())
                            .increment(1);
                        tracing::error!(%domain, event = %event.kind, id = %event.id, error = %err, "an event could not be applied");
                        break;
                    }
                }
            }
        }
    });
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
