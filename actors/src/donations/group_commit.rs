//! Group commit for payments. A domain has one writer, and a payment's transaction holds
//! it for six statements; one by one, payments queue behind each other. So the first
//! payment to find no transaction running leads: it records every payment that queued
//! meanwhile in one transaction (one UPDATE that decides every outcome, one insert of all
//! their ledger rows, one of all their events; a read only for payments that moved
//! nothing) and hands each caller its own answer. Alone, a payment costs what it did; under load, a transaction
//! carries many, and no payment costs a round trip of its own.
//!
//! One leader at a time, on PostgreSQL too: with four at once (while one batch waited for
//! the server, the next was written) batches held one or two payments, and 1,000
//! payments a second cost the machine about a tenth more CPU than with one leader, whose
//! batches grow with the load. Other instances' leaders may still run beside it.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
};

use chrono::{DateTime, Utc};
use gerak_entities::donations::donation;
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, Statement, Value,
    sea_query::{CaseStatement, Expr},
};
use tokio::sync::oneshot;

use super::service::{DonationsService, donation_event, movement, payment_legs, to_donation};
use crate::{DomainError, money::Money};

/// Payments one transaction records at most (bounds the statements' parameters).
const MAX_BATCH: usize = 256;

#[derive(Clone, Default)]
pub struct PaymentQueue(Arc<Mutex<Queue>>);

#[derive(Default)]
struct Queue {
    waiting: Vec<Payment>,
    /// A caller is recording a batch now; the others only queue.
    leading: bool,
}

struct Payment {
    payment_ref: String,
    amount: Money,
    succeeded: bool,
    reply: oneshot::Sender<Result<donation::Model, DomainError>>,
}

impl PaymentQueue {
    /// Records the outcome of the payment `payment_ref` of `amount` (paid or failed, with
    /// its ledger movement and event) and returns the donation as it is then. A donation
    /// no longer pending (paid before, or meanwhile by another caller) is returned as it is.
    pub(crate) async fn record(
        &self,
        service: &DonationsService,
        payment_ref: String,
        amount: Money,
        succeeded: bool,
    ) -> Result<donation::Model, DomainError> {
        let (reply, answer) = oneshot::channel();
        let lead = {
            let mut queue = self.lock();
            queue.waiting.push(Payment {
                payment_ref,
                amount,
                succeeded,
                reply,
            });
            let lead = !queue.leading;
            queue.leading = true;
            lead
        };
        if lead {
            let mut leader = Leader {
                queue: self,
                done: false,
            };
            loop {
                let batch = {
                    let mut queue = self.lock();
                    let take = queue.waiting.len().min(MAX_BATCH);
                    let batch = queue.waiting.drain(..take).collect::<Vec<_>>();
                    if batch.is_empty() {
                        // Stepped down under the same lock that saw the queue empty.
                        queue.leading = false;
                        leader.done = true;
                    }
                    batch
                };
                if batch.is_empty() {
                    break;
                }
                metrics::histogram!("gerak_payment_batch_size").record(batch.len() as f64);
                record_batch(service, batch).await;
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(DomainError::Internal(
                "the transaction recording this payment was abandoned".to_owned(),
            ))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A leader dropped mid-batch (its actor stopped) steps down, and payments still queued
/// are answered with an error rather than left waiting for a leader that never comes.
struct Leader<'a> {
    queue: &'a PaymentQueue,
    done: bool,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut queue = self.queue.lock();
            queue.leading = false;
            // Dropping their reply senders answers them (with an error).
            queue.waiting.clear();
        }
    }
}

async fn record_batch(service: &DonationsService, batch: Vec<Payment>) {
    match write_batch(service, &batch).await {
        Ok(answers) => {
            for (payment, answer) in batch.into_iter().zip(answers) {
                let _ = payment.reply.send(answer);
            }
        }
        Err(err) => {
            for payment in batch {
                let _ = payment.reply.send(Err(err.clone()));
            }
        }
    }
}

/// Checks a payment against its donation: the donation as it is when there is nothing to
/// record (no longer pending), an error when the payment is not for it, None to record.
fn check(
    payment: &Payment,
    row: Option<&donation::Model>,
) -> Option<Result<donation::Model, DomainError>> {
    let Some(row) = row else {
        return Some(Err(DomainError::not_found("donation with this paymentRef")));
    };
    let expected = match Money::from_stored(row.amount_minor, &row.currency) {
        Ok(expected) => expected,
        Err(err) => return Some(Err(err)),
    };
    if payment.amount != expected {
        tracing::warn!(payment_ref = %row.payment_ref, expected = %expected, got = %payment.amount, "payment amount does not match the donation; rejected");
        return Some(Err(DomainError::invalid(
            "input.amount",
            format!("does not match the donation's amount, {expected}"),
        )));
    }
    // Applied before: the same answer again changes nothing.
    (row.status != donation::DonationStatus::Pending).then(|| Ok(row.clone()))
}

/// One transaction for the whole batch; an answer per payment, in order.
///
/// The UPDATE decides on its own which donations move and how, so that no read comes
/// before it (a round trip less on every payment): a pending donation moves with the
/// outcome of the batch's first payment whose amount is the donation's. Only payments
/// that moved nothing (retried, wrong amount, unknown reference) read their donation,
/// after it.
async fn write_batch(
    service: &DonationsService,
    batch: &[Payment],
) -> Result<Vec<Result<donation::Model, DomainError>>, DomainError> {
    let db = &service.db;
    let txn = service.begin().await?;
    let now = Utc::now();
    // The first payment of each (reference, amount, currency) decides.
    let mut seen = HashSet::new();
    let deciding: Vec<&Payment> = batch
        .iter()
        .filter(|payment| seen.insert((payment.payment_ref.as_str(), payment.amount)))
        .collect();
    let mut moved = if db.backend() == DbBackend::Postgres {
        move_pending_recordset(&txn, &deciding, now).await
    } else {
        move_pending_case(&txn, &deciding, now).await
    }
    .map_err(|e| db.map_err(e))?;
    let mut refs: Vec<&str> = Vec::new();
    for payment in &deciding {
        if !refs.contains(&payment.payment_ref.as_str()) {
            refs.push(&payment.payment_ref);
        }
    }
    let unmoved: Vec<String> = refs
        .into_iter()
        .filter(|r| !moved.iter().any(|row| row.payment_ref == *r))
        .map(str::to_owned)
        .collect();
    let untouched: HashMap<String, donation::Model> = if unmoved.is_empty() {
        HashMap::new()
    } else {
        donation::Entity::find()
            .filter(donation::Column::PaymentRef.is_in(unmoved))
            .all(&txn)
            .await
            .map_err(|e| db.map_err(e))?
            .into_iter()
            .map(|row| (row.payment_ref.clone(), row))
            .collect()
    };
    // Ledger rows and events in the order the payments came.
    let order = |row: &donation::Model| batch.iter().position(|p| p.payment_ref == row.payment_ref);
    moved.sort_by_key(order);
    let mut ledger = Vec::new();
    let mut events = Vec::with_capacity(moved.len());
    for row in &moved {
        let kind = if row.status == donation::DonationStatus::Paid {
            ledger.extend(movement(row, &payment_legs(row))?);
            "donation_paid"
        } else {
            "donation_failed"
        };
        events.push(donation_event(
            kind,
            &to_donation(row.clone())?,
            serde_json::json!({}),
        ));
    }
    service.commit_with_ledger(txn, ledger, events).await?;
    let stamp_to_commit = (Utc::now() - now).to_std().unwrap_or_default();
    metrics::histogram!("gerak_payment_commit_seconds").record(stamp_to_commit.as_secs_f64());
    let moved: HashMap<&str, &donation::Model> = moved
        .iter()
        .map(|row| (row.payment_ref.as_str(), row))
        .collect();
    Ok(batch
        .iter()
        .map(|payment| {
            let reference = payment.payment_ref.as_str();
            let row = moved.get(reference).copied().or(untouched.get(reference));
            // A donation that moved is no longer pending: its payments get it, or the
            // amount error. One still pending here had no payment of its amount.
            check(payment, row).unwrap_or_else(|| {
                Err(DomainError::Internal(format!(
                    "the donation of payment {reference} stayed pending"
                )))
            })
        })
        .collect())
}

/// Moves the pending donations `deciding` pays, each with its payment's outcome, and
/// returns them as they are then. Conditional on pending *now*: a payment recorded twice
/// moves the donation once, and concurrent batches (PostgreSQL) wait for each other's rows
/// instead of both moving them. One CASE arm per payment (SQLite).
async fn move_pending_case(
    txn: &DatabaseTransaction,
    deciding: &[&Payment],
    now: DateTime<Utc>,
) -> Result<Vec<donation::Model>, DbErr> {
    let mut status = CaseStatement::new();
    let mut paid_at = CaseStatement::new();
    let mut any = Condition::any();
    for payment in deciding {
        let this = || {
            Condition::all()
                .add(donation::Column::PaymentRef.eq(payment.payment_ref.as_str()))
                .add(donation::Column::AmountMinor.eq(payment.amount.minor))
                .add(donation::Column::Currency.eq(payment.amount.currency.code()))
        };
        let (outcome, paid) = if payment.succeeded {
            (donation::DonationStatus::Paid, Some(now))
        } else {
            (donation::DonationStatus::Failed, None)
        };
        status = status.case(this(), Expr::value(outcome));
        paid_at = paid_at.case(this(), Expr::value(paid));
        any = any.add(this());
    }
    donation::Entity::update_many()
        .col_expr(donation::Column::Status, status.into())
        .col_expr(donation::Column::PaidAt, paid_at.into())
        .col_expr(donation::Column::UpdatedAt, Expr::value(now))
        .filter(
            donation::Column::PaymentRef
                .is_in(deciding.iter().map(|payment| payment.payment_ref.as_str())),
        )
        .filter(donation::Column::Status.eq(donation::DonationStatus::Pending))
        .filter(any)
        .exec_with_returning(txn)
        .await
}

/// [`move_pending_case`] with the payments as one JSON parameter (PostgreSQL): one
/// statement text whatever the batch's size (see `batch_sql`).
async fn move_pending_recordset(
    txn: &DatabaseTransaction,
    deciding: &[&Payment],
    now: DateTime<Utc>,
) -> Result<Vec<donation::Model>, DbErr> {
    let payments: Vec<serde_json::Value> = deciding
        .iter()
        .map(|payment| {
            serde_json::json!({
                "payment_ref": payment.payment_ref,
                "amount_minor": payment.amount.minor,
                "currency": payment.amount.currency.code(),
                "succeeded": payment.succeeded,
            })
        })
        .collect();
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"UPDATE "donations" AS d
           SET "status" = CASE WHEN p.succeeded THEN $2 ELSE $3 END,
               "paid_at" = CASE WHEN p.succeeded THEN $4::timestamptz END,
               "updated_at" = $4
           FROM jsonb_to_recordset($1::jsonb)
                AS p(payment_ref text, amount_minor int8, currency text, succeeded bool)
           WHERE d."payment_ref" = p.payment_ref AND d."amount_minor" = p.amount_minor
             AND d."currency" = p.currency AND d."status" = $5
           RETURNING d.*"#,
        [
            Value::from(serde_json::Value::Array(payments).to_string()),
            Value::from(donation::DonationStatus::Paid.into_value()),
            Value::from(donation::DonationStatus::Failed.into_value()),
            Value::from(now),
            Value::from(donation::DonationStatus::Pending.into_value()),
        ],
    );
    donation::Model::find_by_statement(statement).all(txn).await
}

#[cfg(test)]
mod tests {
    use gerak_entities::{donations::ledger_entry, outbox::outbox_event};
    use sea_orm::PaginatorTrait;

    use super::*;
    use crate::{
        db::ScratchDb,
        donations::{Donate, DonationStatus, LedgerTotals, RecordPayment},
        money::{Currency, Money},
        runtime::{Domain, Outbox},
    };

    /// Scratch donations databases: SQLite, and PostgreSQL when it answers (the batch's
    /// UPDATE is written differently for each).
    async fn scratch_dbs() -> Vec<ScratchDb> {
        let mut dbs = vec![ScratchDb::open(Domain::Donations).await.unwrap()];
        dbs.extend(ScratchDb::open_postgres(Domain::Donations).await);
        dbs
    }

    /// A donations domain on `scratch`, and the IDR currency.
    fn scratch_service(scratch: ScratchDb) -> (ScratchDb, DonationsService, Currency) {
        let service = DonationsService {
            db: scratch.db.clone(),
            outbox: Outbox::default(),
            payments: PaymentQueue::default(),
        };
        (
            scratch,
            service,
            Currency::parse("currency", "IDR").unwrap(),
        )
    }

    async fn pending_donation(
        service: &DonationsService,
        donor: String,
        amount: Money,
    ) -> crate::donations::Donation {
        service
            .clone()
            .donate(Donate {
                donor_id: donor,
                campaign_id: "0193c1a2-0000-7000-8000-000000000001".to_owned(),
                campaign_currency: "IDR".to_owned(),
                amount,
                anonymous: false,
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn concurrent_payments_share_transactions_and_each_is_recorded_once() {
        for scratch in scratch_dbs().await {
            concurrent_payments_are_recorded_once(scratch).await;
        }
    }

    async fn concurrent_payments_are_recorded_once(scratch: ScratchDb) {
        let (scratch, service, idr) = scratch_service(scratch);
        let db = scratch.db.clone();
        let mut donations = Vec::new();
        for i in 0..40 {
            let donor = format!("donor-{}", i % 3);
            donations.push(pending_donation(&service, donor, Money::new(1_000 + i, idr)).await);
        }
        // Every payment twice (a retried webhook), and the last five reported failed
        // too: whichever outcome is recorded first stands, for both callers.
        let payments = donations.iter().flat_map(|d| {
            let failed_first = d.amount.minor >= 1_035;
            [!failed_first, true].map(|succeeded| {
                service.clone().record_payment(RecordPayment {
                    payment_ref: d.payment_ref.clone(),
                    succeeded,
                    amount: d.amount,
                })
            })
        });
        let answers = futures::future::join_all(payments).await;
        let mut paid = (0, 0);
        for (i, pair) in answers.chunks(2).enumerate() {
            let (first, second) = (pair[0].as_ref().unwrap(), pair[1].as_ref().unwrap());
            assert_eq!(first.status, second.status, "donation {i}: one outcome");
            match first.status {
                DonationStatus::Paid => {
                    paid.0 += 1;
                    paid.1 += first.amount.minor;
                }
                DonationStatus::Failed => assert!(i >= 35, "donation {i} was only paid"),
                other => panic!("donation {i} is {other:?}"),
            }
        }
        assert!(paid.0 >= 35);
        let (paid, raised) = paid;
        let totals = service.clone().totals(LedgerTotals).await.unwrap();
        assert!(
            totals.iter().all(|m| m.minor == 0),
            "unbalanced: {totals:?}"
        );
        let legs = ledger_entry::Entity::find().count(&db.read).await.unwrap();
        assert_eq!(legs, paid * 4, "one movement per paid donation");
        let campaign: i64 = ledger_entry::Entity::find()
            .filter(ledger_entry::Column::OwnerType.eq("CAMPAIGN"))
            .all(&db.read)
            .await
            .unwrap()
            .iter()
            .map(|e| e.amount_minor)
            .sum();
        assert_eq!(campaign, raised);
        for (kind, count) in [("donation_paid", paid), ("donation_failed", 40 - paid)] {
            let events = outbox_event::Entity::find()
                .filter(outbox_event::Column::EventType.eq(format!("donations.{kind}")))
                .count(&db.read)
                .await
                .unwrap();
            assert_eq!(events, count, "{kind} events");
        }
        // The event carries the donation as it was paid: listeners need not ask again.
        let row = outbox_event::Entity::find()
            .filter(outbox_event::Column::EventType.eq("donations.donation_paid"))
            .one(&db.read)
            .await
            .unwrap()
            .unwrap();
        let event: crate::bus::Event = serde_json::from_str(&row.payload).unwrap();
        let carried =
            crate::donations::Donation::from_event(&event.data).expect("a whole donation");
        let stored = service.existing(&carried.id).await.unwrap();
        assert_eq!(carried.status, DonationStatus::Paid);
        assert_eq!(carried.paid_at, stored.paid_at);
        assert_eq!(carried.created_at, stored.created_at);
        assert_eq!(carried.amount.minor, stored.amount_minor);
        assert_eq!(carried.payment_ref, stored.payment_ref);
    }

    #[tokio::test]
    async fn a_batch_moves_each_donation_once_with_its_first_payment_of_its_amount() {
        for scratch in scratch_dbs().await {
            a_batch_moves_each_donation_once(scratch).await;
        }
    }

    async fn a_batch_moves_each_donation_once(scratch: ScratchDb) {
        let (scratch, service, idr) = scratch_service(scratch);
        let db = scratch.db.clone();
        let mut donations = Vec::new();
        for minor in [1_000, 2_000] {
            let donor = "donor".to_owned();
            donations.push(pending_donation(&service, donor, Money::new(minor, idr)).await);
        }
        let (a, b) = (&donations[0].payment_ref, &donations[1].payment_ref);
        let payment = |payment_ref: &str, minor: i64, succeeded: bool| Payment {
            payment_ref: payment_ref.to_owned(),
            amount: Money::new(minor, idr),
            succeeded,
            reply: oneshot::channel().0,
        };
        let batch = [
            payment(a, 999, true),
            payment(a, 1_000, false),
            payment(a, 1_000, true),
            payment(b, 2_000, true),
            payment("PAY-unknown", 5, true),
            payment(b, 2_000, false),
        ];
        let answers = write_batch(&service, &batch).await.unwrap();
        let status = |i: usize| answers[i].as_ref().map(|d| d.status).ok();
        assert!(
            matches!(&answers[0], Err(DomainError::Invalid { field, .. }) if field == "input.amount"),
            "a wrong amount is refused: {:?}",
            answers[0]
        );
        // The first payment of the right amount decides, for every payment of the batch.
        assert_eq!(status(1), Some(donation::DonationStatus::Failed));
        assert_eq!(status(2), Some(donation::DonationStatus::Failed));
        assert_eq!(status(3), Some(donation::DonationStatus::Paid));
        assert!(matches!(answers[4], Err(DomainError::NotFound { .. })));
        assert_eq!(status(5), Some(donation::DonationStatus::Paid));
        let paid_at = answers[3].as_ref().unwrap().paid_at;
        assert!(paid_at.is_some());
        assert!(answers[1].as_ref().unwrap().paid_at.is_none());

        // Reported again: nothing moves, each gets its donation as it is.
        let again = write_batch(
            &service,
            &[payment(a, 1_000, true), payment(b, 2_000, false)],
        )
        .await
        .unwrap();
        assert_eq!(
            again[0].as_ref().unwrap().status,
            donation::DonationStatus::Failed
        );
        assert_eq!(
            again[1].as_ref().unwrap().status,
            donation::DonationStatus::Paid
        );
        assert_eq!(again[1].as_ref().unwrap().paid_at, paid_at);
        let legs = ledger_entry::Entity::find().count(&db.read).await.unwrap();
        assert_eq!(legs, 4, "one movement, for the paid donation only");
        let events = outbox_event::Entity::find().count(&db.read).await.unwrap();
        // Two donation_pending, one donation_failed, one donation_paid.
        assert_eq!(events, 4);
    }
}
