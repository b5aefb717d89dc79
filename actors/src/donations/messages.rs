//! The donations domain's messages and records.

use actix::Message;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DomainError, money::Money};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DonationKind {
    Direct,
    SponsorMatch,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DonationStatus {
    Pending,
    Paid,
    Failed,
    Refunded,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Donation {
    pub id: String,
    pub legacy_id: Option<i64>,
    pub kind: DonationKind,
    pub status: DonationStatus,
    pub amount: Money,
    pub refunded: Money,
    pub donor_id: Option<String>,
    pub anonymous: bool,
    pub campaign_id: String,
    pub challenge_id: Option<String>,
    pub participation_id: Option<String>,
    pub payment_ref: String,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

impl Donation {
    /// The donation as its event describes it (the data of `donations.donation_*`), so
    /// that live listeners need not ask the domain again; `None` for an event written
    /// before events carried every field.
    pub fn from_event(data: &serde_json::Value) -> Option<Donation> {
        let text = |field: &str| data.get(field)?.as_str().map(str::to_owned);
        let money = |field: &str| {
            let value = data.get(field)?;
            Money::parse(
                field,
                value.get("amount")?.as_str()?,
                value.get("currency")?.as_str()?,
            )
            .ok()
        };
        fn parse<T: serde::de::DeserializeOwned>(
            data: &serde_json::Value,
            field: &str,
        ) -> Option<T> {
            T::deserialize(data.get(field)?).ok()
        }
        Some(Donation {
            id: text("donationId")?,
            legacy_id: parse(data, "legacyId")?,
            kind: parse(data, "kind")?,
            status: parse(data, "status")?,
            amount: money("amount")?,
            refunded: money("refunded")?,
            donor_id: parse(data, "donorId")?,
            anonymous: data.get("anonymous")?.as_bool()?,
            campaign_id: text("campaignId")?,
            challenge_id: parse(data, "challengeId")?,
            participation_id: parse(data, "participationId")?,
            payment_ref: text("paymentRef")?,
            created_at: parse(data, "createdAt")?,
            paid_at: parse(data, "paidAt")?,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DonationPage {
    pub donations: Vec<Donation>,
    pub has_next_page: bool,
    pub total_count: u64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OwnerType {
    User,
    Campaign,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatementLine {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub description: String,
    pub amount: Money,
    pub balance_after: Money,
    pub donation_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Statement {
    pub opening_balance: Money,
    pub total_in: Money,
    /// A positive magnitude: what went out.
    pub total_out: Money,
    pub closing_balance: Money,
    pub lines: Vec<StatementLine>,
    pub has_next_page: bool,
    pub total_count: u64,
}

macro_rules! message {
    ($name:ident => $result:ty) => {
        impl Message for $name {
            type Result = Result<$result, DomainError>;
        }
    };
}

/// A PENDING gift to a campaign the caller checked is ACTIVE and visible.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Donate {
    pub donor_id: String,
    pub campaign_id: String,
    pub campaign_currency: String,
    pub amount: Money,
    pub anonymous: bool,
}
message!(Donate => Donation);

/// The payment provider's answer for a `paymentRef`: applied once, however often it comes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordPayment {
    pub payment_ref: String,
    pub succeeded: bool,
    pub amount: Money,
}
message!(RecordPayment => Donation);

/// Gives back part (or, with `amount` None, the rest) of a PAID donation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundDonation {
    pub id: String,
    pub amount: Option<Money>,
}
message!(RefundDonation => Donation);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetDonations {
    pub ids: Vec<String>,
}
message!(GetDonations => Vec<Donation>);

/// Donations newest first, by campaign and/or donor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListDonations {
    pub campaign_id: Option<String>,
    pub donor_id: Option<String>,
    /// Only PAID (and partly refunded) ones: what a campaign's public page shows.
    pub paid_only: bool,
    pub after: Option<String>,
    pub first: u64,
}
message!(ListDonations => DonationPage);

/// An account's statement over [from, to).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetStatement {
    pub owner_type: OwnerType,
    pub owner_id: String,
    pub currency: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub after: Option<String>,
    pub first: u64,
}
message!(GetStatement => Statement);

/// Per currency, the sum of every ledger entry: all zeros when the books balance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerTotals;
message!(LedgerTotals => Vec<Money>);
