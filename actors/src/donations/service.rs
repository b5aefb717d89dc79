//! The donations domain's logic: gifts, payments, sponsor matches, refunds, and the
//! double-entry ledger written in the same transaction as each change.

use chrono::Utc;
use gerak_entities::donations::{donation, ledger_entry};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, SqlErr,
    TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;

use super::messages::*;
use crate::{
    DomainError,
    bus::Event,
    db::{DomainDb, Order},
    money::{Currency, Money},
    runtime::{
        ApplyEvent, ApplyEvents, Domain, DomainService, Outbox, claim, commit_with,
        commit_with_rows, event_money, event_text, one_by_one,
    },
};

/// The outside world's side of every payment: money enters and leaves through it.
const EXTERNAL: (&str, &str) = ("EXTERNAL", "payments");

#[derive(Clone)]
pub struct DonationsService {
    pub(crate) db: DomainDb,
    pub(crate) outbox: Outbox,
    pub(crate) payments: super::group_commit::PaymentQueue,
}

impl DomainService for DonationsService {
    const DOMAIN: Domain = Domain::Donations;

    fn db(&self) -> &DomainDb {
        &self.db
    }
}

/// One leg of a movement: (owner type, owner id, signed amount, description).
pub(super) type Leg<'a> = (&'a str, &'a str, i64, String);

impl DonationsService {
    pub async fn donate(self, msg: Donate) -> Result<Donation, DomainError> {
        if msg.amount.minor <= 0 {
            return Err(DomainError::invalid(
                "input.amount.amount",
                "must be positive",
            ));
        }
        if msg.amount.currency.code() != msg.campaign_currency {
            return Err(DomainError::invalid(
                "input.amount.currency",
                format!("the campaign takes {} only", msg.campaign_currency),
            ));
        }
        let now = Utc::now();
        let row = donation::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            legacy_id: Set(None),
            kind: Set(donation::DonationKind::Direct),
            status: Set(donation::DonationStatus::Pending),
            amount_minor: Set(msg.amount.minor),
            refunded_minor: Set(0),
            currency: Set(msg.amount.currency.code().to_owned()),
            donor_id: Set(Some(msg.donor_id)),
            anonymous: Set(msg.anonymous),
            campaign_id: Set(msg.campaign_id),
            challenge_id: Set(None),
            participation_id: Set(None),
            payment_ref: Set(new_payment_ref()?),
            created_at: Set(now),
            paid_at: Set(None),
            updated_at: Set(now),
        };
        let txn = self.begin().await?;
        let row = row.insert(&txn).await.map_err(|e| self.db.map_err(e))?;
        let donation = to_donation(row)?;
        let event = donation_event("donation_pending", &donation, json!({}));
        self.commit_with(txn, vec![event]).await?;
        Ok(donation)
    }

    pub async fn record_payment(self, msg: RecordPayment) -> Result<Donation, DomainError> {
        // Checked before the database sees it: a NUL byte is an error there, not a miss.
        let payment_ref =
            crate::validate::required_text("input.paymentRef", &msg.payment_ref, 200)?;
        // Read, checked and written in the batch's transaction: no round trip of its own.
        let recorded = self
            .payments
            .record(&self, payment_ref.to_owned(), msg.amount, msg.succeeded)
            .await?;
        to_donation(recorded)
    }

    pub async fn refund(self, msg: RefundDonation) -> Result<Donation, DomainError> {
        let row = self.existing(&msg.id).await?;
        let currency = Currency::parse("currency", &row.currency)?;
        let remaining = row.amount_minor - row.refunded_minor;
        let refund = match msg.amount {
            Some(amount) if amount.currency != currency => {
                return Err(DomainError::invalid(
                    "amount.currency",
                    format!("the donation is in {currency}"),
                ));
            }
            Some(amount) if amount.minor <= 0 => {
                return Err(DomainError::invalid("amount.amount", "must be positive"));
            }
            Some(amount) => amount.minor,
            None => remaining,
        };
        if row.status != donation::DonationStatus::Paid {
            return Err(DomainError::invalid(
                "id",
                format!(
                    "only PAID donations can be refunded; this one is {}",
                    status_name(row.status)
                ),
            ));
        }
        let txn = self.begin().await?;
        // Conditional on what is left *now*: concurrent refunds cannot together exceed it.
        let moved = donation::Entity::update_many()
            .col_expr(
                donation::Column::RefundedMinor,
                Expr::col(donation::Column::RefundedMinor).add(refund),
            )
            .col_expr(donation::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(donation::Column::Id.eq(row.id.clone()))
            .filter(donation::Column::Status.eq(donation::DonationStatus::Paid))
            .filter(
                Expr::col(donation::Column::RefundedMinor)
                    .add(refund)
                    .lte(Expr::col(donation::Column::AmountMinor)),
            )
            .exec(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        if moved.rows_affected != 1 {
            drop(txn);
            let now = self.existing(&msg.id).await?;
            let left = Money::new(now.amount_minor - now.refunded_minor, currency);
            return Err(DomainError::invalid(
                "amount",
                format!("exceeds what is left to refund, {left}"),
            ));
        }
        donation::Entity::update_many()
            .col_expr(
                donation::Column::Status,
                Expr::value(donation::DonationStatus::Refunded),
            )
            .filter(donation::Column::Id.eq(row.id.clone()))
            .filter(
                Expr::col(donation::Column::RefundedMinor)
                    .eq(Expr::col(donation::Column::AmountMinor)),
            )
            .exec(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        let donor = row.donor_id.clone().unwrap_or_default();
        let legs: Vec<Leg> = match row.kind {
            donation::DonationKind::Direct => vec![
                (
                    "CAMPAIGN",
                    &row.campaign_id,
                    -refund,
                    "Refund of a donation".to_owned(),
                ),
                ("USER", &donor, refund, "Refund of a donation".to_owned()),
                (
                    "USER",
                    &donor,
                    -refund,
                    format!("Refund {} paid back", row.payment_ref),
                ),
                (
                    EXTERNAL.0,
                    EXTERNAL.1,
                    refund,
                    format!("Refund {} paid back", row.payment_ref),
                ),
            ],
            donation::DonationKind::SponsorMatch => vec![
                (
                    "CAMPAIGN",
                    &row.campaign_id,
                    -refund,
                    "Refund of a sponsor match".to_owned(),
                ),
                ("USER", &donor, refund, "Sponsor match refunded".to_owned()),
            ],
        };
        self.post(&txn, &row, &legs).await?;
        let updated = donation::Entity::find_by_id(row.id.clone())
            .one(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?
            .ok_or_else(|| DomainError::not_found("donation"))?;
        let donation = to_donation(updated)?;
        let event = donation_event(
            "donation_refunded",
            &donation,
            json!({ "refundedNow": money_json(Money::new(refund, currency)), "refundedTotal": money_json(donation.refunded) }),
        );
        self.commit_with(txn, vec![event]).await?;
        Ok(donation)
    }

    /// Several events, each in its own transaction.
    pub async fn apply_all(self, ApplyEvents(events): ApplyEvents) -> Result<(), DomainError> {
        one_by_one(events, |event| self.clone().apply(event)).await
    }

    /// A sponsor match for each approved action within its challenge's quota.
    pub async fn apply(self, ApplyEvent(event): ApplyEvent) -> Result<(), DomainError> {
        let data = &event.data;
        let participation_id = event_text(data, "participationId")?.to_owned();
        let challenge_id = event_text(data, "challengeId")?.to_owned();
        let campaign_id = event_text(data, "campaignId")?.to_owned();
        let reward = event_money(data, "reward")?;
        let sponsor_id = data
            .get("sponsorId")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let within_quota = data
            .get("withinQuota")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let txn = self.begin().await?;
        if !claim(&txn, &event).await.map_err(|e| self.db.map_err(e))? {
            return Ok(());
        }
        let skip_reason = match (&sponsor_id, within_quota) {
            (None, _) => Some("the challenge has no sponsor"),
            (_, false) => Some("the challenge's quota is used up"),
            _ => None,
        };
        if let Some(reason) = skip_reason {
            let event = Event::new(
                Domain::Donations,
                "sponsor_match_skipped",
                json!({ "participationId": participation_id, "challengeId": challenge_id, "campaignId": campaign_id, "sponsorId": sponsor_id, "reward": money_json(reward), "reason": reason }),
            );
            return self.commit_with(txn, vec![event]).await;
        }
        let sponsor = sponsor_id.unwrap_or_default();
        let now = Utc::now();
        let row = donation::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            legacy_id: Set(None),
            kind: Set(donation::DonationKind::SponsorMatch),
            status: Set(donation::DonationStatus::Paid),
            amount_minor: Set(reward.minor),
            refunded_minor: Set(0),
            currency: Set(reward.currency.code().to_owned()),
            donor_id: Set(Some(sponsor.clone())),
            anonymous: Set(false),
            campaign_id: Set(campaign_id),
            challenge_id: Set(Some(challenge_id)),
            participation_id: Set(Some(participation_id.clone())),
            payment_ref: Set(format!("MATCH-{participation_id}")),
            created_at: Set(now),
            paid_at: Set(Some(now)),
            updated_at: Set(now),
        };
        let row = match row.insert(&txn).await {
            Ok(row) => row,
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                // Matched before (under another event id): the database refuses a second.
                tracing::info!(%participation_id, "sponsor match already paid; not paying twice");
                return self.commit(txn).await;
            }
            Err(err) => return Err(self.db.map_err(err)),
        };
        let ledger = movement(
            &row,
            &[
                (
                    "USER",
                    &sponsor,
                    -reward.minor,
                    "Sponsor match for an approved action".to_owned(),
                ),
                (
                    "CAMPAIGN",
                    &row.campaign_id,
                    reward.minor,
                    "Sponsor match received".to_owned(),
                ),
            ],
        )?;
        let donation = to_donation(row)?;
        self.commit_with_ledger(
            txn,
            ledger,
            vec![donation_event("donation_paid", &donation, json!({}))],
        )
        .await
    }

    pub async fn get(self, msg: GetDonations) -> Result<Vec<Donation>, DomainError> {
        if msg.ids.is_empty() {
            return Ok(Vec::new());
        }
        donation::Entity::find()
            .filter(donation::Column::Id.is_in(msg.ids))
            .all(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?
            .into_iter()
            .map(to_donation)
            .collect()
    }

    pub async fn list(self, msg: ListDonations) -> Result<DonationPage, DomainError> {
        let mut filter = Condition::all();
        if let Some(campaign_id) = msg.campaign_id {
            filter = filter.add(donation::Column::CampaignId.eq(campaign_id));
        }
        if let Some(donor_id) = msg.donor_id {
            filter = filter.add(donation::Column::DonorId.eq(donor_id));
        }
        if msg.paid_only {
            filter = filter.add(donation::Column::Status.eq(donation::DonationStatus::Paid));
        }
        let page = self
            .db
            .keyset_page::<donation::Entity>(
                filter,
                donation::Column::Id,
                msg.after,
                msg.first,
                Order::NewestFirst,
            )
            .await?;
        let (rows, has_next_page, total_count) = (page.rows, page.has_next_page, page.total_count);
        Ok(DonationPage {
            donations: rows
                .into_iter()
                .map(to_donation)
                .collect::<Result<_, _>>()?,
            has_next_page,
            total_count,
        })
    }

    pub async fn statement(self, msg: GetStatement) -> Result<Statement, DomainError> {
        let currency = Currency::parse("currency", &msg.currency)?;
        if msg.to < msg.from {
            return Err(DomainError::invalid("to", "must not be before from"));
        }
        let owner_type = match msg.owner_type {
            OwnerType::User => "USER",
            OwnerType::Campaign => "CAMPAIGN",
        };
        let account = Condition::all()
            .add(ledger_entry::Column::OwnerType.eq(owner_type))
            .add(ledger_entry::Column::OwnerId.eq(msg.owner_id.clone()))
            .add(ledger_entry::Column::Currency.eq(currency.code()));
        let in_range = account
            .clone()
            .add(ledger_entry::Column::OccurredAt.gte(msg.from))
            .add(ledger_entry::Column::OccurredAt.lt(msg.to));
        let opening = self
            .sum(
                account
                    .clone()
                    .add(ledger_entry::Column::OccurredAt.lt(msg.from)),
            )
            .await?;
        let total_in = self
            .sum(
                in_range
                    .clone()
                    .add(ledger_entry::Column::AmountMinor.gt(0)),
            )
            .await?;
        let total_out = -self
            .sum(
                in_range
                    .clone()
                    .add(ledger_entry::Column::AmountMinor.lt(0)),
            )
            .await?;
        let page = self
            .db
            .keyset_page::<ledger_entry::Entity>(
                in_range.clone(),
                ledger_entry::Column::Id,
                msg.after.clone(),
                msg.first,
                Order::OldestFirst,
            )
            .await?;
        let (rows, has_next_page, total_count) = (page.rows, page.has_next_page, page.total_count);
        let mut balance = opening;
        if let Some(first) = rows.first() {
            balance += self
                .sum(
                    in_range
                        .clone()
                        .add(ledger_entry::Column::Id.lt(first.id.clone())),
                )
                .await?;
        }
        let lines = rows
            .into_iter()
            .map(|row| {
                balance += row.amount_minor;
                StatementLine {
                    id: row.id,
                    occurred_at: row.occurred_at,
                    description: row.description,
                    amount: Money::new(row.amount_minor, currency),
                    balance_after: Money::new(balance, currency),
                    donation_id: row.donation_id,
                }
            })
            .collect();
        Ok(Statement {
            opening_balance: Money::new(opening, currency),
            total_in: Money::new(total_in, currency),
            total_out: Money::new(total_out, currency),
            closing_balance: Money::new(opening + total_in - total_out, currency),
            lines,
            has_next_page,
            total_count,
        })
    }

    pub async fn totals(self, _msg: LedgerTotals) -> Result<Vec<Money>, DomainError> {
        let rows: Vec<(String, i64)> = ledger_entry::Entity::find()
            .select_only()
            .column(ledger_entry::Column::Currency)
            .column_as(
                Expr::cust("CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT)"),
                "total",
            )
            .group_by(ledger_entry::Column::Currency)
            .into_tuple()
            .all(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?;
        rows.into_iter()
            .map(|(currency, total)| Money::from_stored(total, &currency))
            .collect()
    }

    async fn sum(&self, filter: Condition) -> Result<i64, DomainError> {
        // SUM of a BIGINT is NUMERIC on PostgreSQL: cast it back.
        let total: Option<i64> = ledger_entry::Entity::find()
            .select_only()
            .column_as(
                Expr::cust("CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT)"),
                "total",
            )
            .filter(filter)
            .into_tuple()
            .one(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?;
        Ok(total.unwrap_or(0))
    }

    /// Writes a balanced movement; refuses (as a bug) one that does not sum to zero.
    async fn post(
        &self,
        txn: &DatabaseTransaction,
        donation: &donation::Model,
        legs: &[Leg<'_>],
    ) -> Result<(), DomainError> {
        crate::batch_sql::insert_rows(txn, movement(donation, legs)?)
            .await
            .map_err(|e| self.db.map_err(e))
    }

    pub(super) async fn commit_with(
        &self,
        txn: DatabaseTransaction,
        events: Vec<Event>,
    ) -> Result<(), DomainError> {
        commit_with(&self.db, &self.outbox, txn, events).await
    }

    /// Commits `ledger` rows with `events` (one statement for both on PostgreSQL).
    pub(super) async fn commit_with_ledger(
        &self,
        txn: DatabaseTransaction,
        ledger: Vec<ledger_entry::ActiveModel>,
        events: Vec<Event>,
    ) -> Result<(), DomainError> {
        commit_with_rows(&self.db, &self.outbox, txn, ledger, events).await
    }

    pub(super) async fn existing(&self, id: &str) -> Result<donation::Model, DomainError> {
        donation::Entity::find_by_id(id.to_owned())
            .one(&self.db.write)
            .await
            .map_err(|e| self.db.map_err(e))?
            .ok_or_else(|| DomainError::not_found("donation"))
    }

    pub(super) async fn begin(&self) -> Result<DatabaseTransaction, DomainError> {
        self.db.write.begin().await.map_err(|e| self.db.map_err(e))
    }

    async fn commit(&self, txn: DatabaseTransaction) -> Result<(), DomainError> {
        txn.commit().await.map_err(|e| self.db.map_err(e))
    }
}

/// The ledger rows of one balanced movement; refuses (as a bug) one that does not sum
/// to zero.
pub(super) fn movement(
    donation: &donation::Model,
    legs: &[Leg<'_>],
) -> Result<Vec<ledger_entry::ActiveModel>, DomainError> {
    if legs.iter().map(|l| l.2).sum::<i64>() != 0 {
        return Err(DomainError::Internal(
            "an unbalanced ledger movement was refused".to_owned(),
        ));
    }
    let movement_id = uuid::Uuid::now_v7().to_string();
    let now = Utc::now();
    Ok(legs
        .iter()
        .map(
            |(owner_type, owner_id, amount, description)| ledger_entry::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                movement_id: Set(movement_id.clone()),
                owner_type: Set((*owner_type).to_owned()),
                owner_id: Set((*owner_id).to_owned()),
                currency: Set(donation.currency.clone()),
                amount_minor: Set(*amount),
                donation_id: Set(Some(donation.id.clone())),
                description: Set(description.clone()),
                occurred_at: Set(now),
            },
        )
        .collect())
}

/// The legs of a payment received for `row`: in from outside, through the donor, to the
/// campaign.
pub(super) fn payment_legs(row: &donation::Model) -> Vec<Leg<'_>> {
    let donor = row.donor_id.as_deref().unwrap_or_default();
    let x = row.amount_minor;
    let received = format!("Payment {} received", row.payment_ref);
    vec![
        (EXTERNAL.0, EXTERNAL.1, -x, received.clone()),
        ("USER", donor, x, received),
        ("USER", donor, -x, "Donation to a campaign".to_owned()),
        (
            "CAMPAIGN",
            &row.campaign_id,
            x,
            "Donation received".to_owned(),
        ),
    ]
}

/// The event of a donation's change: everything a consumer needs, plus `extra`.
pub(super) fn donation_event(kind: &str, donation: &Donation, extra: serde_json::Value) -> Event {
    let mut data = json!({
        "donationId": donation.id,
        "kind": donation.kind,
        "status": donation.status,
        "campaignId": donation.campaign_id,
        "challengeId": donation.challenge_id,
        "participationId": donation.participation_id,
        "donorId": donation.donor_id,
        "anonymous": donation.anonymous,
        "amount": money_json(donation.amount),
        "refunded": money_json(donation.refunded),
        "paymentRef": donation.payment_ref,
        "legacyId": donation.legacy_id,
        "createdAt": donation.created_at,
        "paidAt": donation.paid_at,
    });
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    Event::new(Domain::Donations, kind, data)
}

fn money_json(money: Money) -> serde_json::Value {
    json!({ "amount": money.amount(), "currency": money.currency })
}

/// A reference the payment provider echoes back: unguessable, unique.
fn new_payment_ref() -> Result<String, DomainError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::Internal(format!("random payment reference: {e}")))?;
    Ok(format!("GRK-{}", hex::encode_upper(bytes)))
}

fn status_name(status: donation::DonationStatus) -> &'static str {
    match status {
        donation::DonationStatus::Pending => "PENDING",
        donation::DonationStatus::Paid => "PAID",
        donation::DonationStatus::Failed => "FAILED",
        donation::DonationStatus::Refunded => "REFUNDED",
    }
}

pub(super) fn to_donation(row: donation::Model) -> Result<Donation, DomainError> {
    let currency = Currency::parse("currency", &row.currency).map_err(|_| {
        DomainError::Internal(format!(
            "donation {} has an unknown currency `{}`",
            row.id, row.currency
        ))
    })?;
    Ok(Donation {
        id: row.id,
        legacy_id: row.legacy_id,
        kind: match row.kind {
            donation::DonationKind::Direct => DonationKind::Direct,
            donation::DonationKind::SponsorMatch => DonationKind::SponsorMatch,
        },
        status: match row.status {
            donation::DonationStatus::Pending => DonationStatus::Pending,
            donation::DonationStatus::Paid => DonationStatus::Paid,
            donation::DonationStatus::Failed => DonationStatus::Failed,
            donation::DonationStatus::Refunded => DonationStatus::Refunded,
        },
        amount: Money::new(row.amount_minor, currency),
        refunded: Money::new(row.refunded_minor, currency),
        donor_id: row.donor_id,
        anonymous: row.anonymous,
        campaign_id: row.campaign_id,
        challenge_id: row.challenge_id,
        participation_id: row.participation_id,
        payment_ref: row.payment_ref,
        created_at: row.created_at,
        paid_at: row.paid_at,
    })
}
