use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use gerak_actors::donations as domain;

use super::DonationLoader;
use crate::{
    auth::optional_viewer,
    campaigns::{Campaign, visible_campaign},
    challenges::{Challenge, Participation, visible_challenge, visible_participation},
    error::{ApiError, FieldResult},
    loaders::loader,
    money::Money,
    users::{User, load_user},
};

macro_rules! mirror_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $name { $($variant),* }

        impl From<domain::$name> for $name {
            fn from(value: domain::$name) -> Self {
                match value { $(domain::$name::$variant => $name::$variant),* }
            }
        }

        impl From<$name> for domain::$name {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => domain::$name::$variant),* }
            }
        }
    };
}

mirror_enum!(
    /// DIRECT from a donor, or SPONSOR_MATCH for an approved action.
    DonationKind { Direct, SponsorMatch }
);
mirror_enum!(
    /// PENDING until the payment provider answers; PAID, FAILED, or REFUNDED in full.
    DonationStatus { Pending, Paid, Failed, Refunded }
);
/// Whose account a statement is for.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum StatementOwner {
    User,
    Campaign,
}

impl From<StatementOwner> for domain::OwnerType {
    fn from(owner: StatementOwner) -> Self {
        match owner {
            StatementOwner::User => domain::OwnerType::User,
            StatementOwner::Campaign => domain::OwnerType::Campaign,
        }
    }
}

/// A gift to a campaign.
pub struct Donation(pub domain::Donation);

impl Donation {
    /// The donor and admins see everything; others see neither anonymous donors nor
    /// payment references.
    fn privileged(&self, ctx: &Context<'_>) -> bool {
        optional_viewer(ctx)
            .ok()
            .flatten()
            .is_some_and(|v| v.is_admin() || self.0.donor_id.as_deref() == Some(v.user_id.as_str()))
    }
}

#[Object]
impl Donation {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn legacy_id(&self) -> Option<i64> {
        self.0.legacy_id
    }

    async fn kind(&self) -> DonationKind {
        self.0.kind.into()
    }

    async fn status(&self) -> DonationStatus {
        self.0.status.into()
    }

    async fn amount(&self) -> Money {
        self.0.amount.into()
    }

    /// Partial refunds add up here.
    async fn refunded(&self) -> Money {
        self.0.refunded.into()
    }

    /// Null when anonymous, except for admins and the donor themself.
    async fn donor(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        if self.0.anonymous && !self.privileged(ctx) {
            return Ok(None);
        }
        match &self.0.donor_id {
            Some(id) => Ok(load_user(ctx, id).await?.map(User::new)),
            None => Ok(None),
        }
    }

    async fn campaign(&self, ctx: &Context<'_>) -> FieldResult<Campaign> {
        Ok(Campaign(visible_campaign(ctx, &self.0.campaign_id).await?))
    }

    async fn challenge(&self, ctx: &Context<'_>) -> FieldResult<Option<Challenge>> {
        match &self.0.challenge_id {
            Some(id) => Ok(Some(Challenge(visible_challenge(ctx, id).await?.0))),
            None => Ok(None),
        }
    }

    async fn participation(&self, ctx: &Context<'_>) -> FieldResult<Option<Participation>> {
        match &self.0.participation_id {
            Some(id) => Ok(Some(Participation(visible_participation(ctx, id).await?.0))),
            None => Ok(None),
        }
    }

    /// What the payment provider echoes back. Empty for anyone but the donor and admins.
    async fn payment_ref(&self, ctx: &Context<'_>) -> String {
        if self.privileged(ctx) {
            self.0.payment_ref.clone()
        } else {
            String::new()
        }
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
}

/// One line of a statement.
pub struct StatementEntry(pub domain::StatementLine);

#[Object]
impl StatementEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Signed: positive in, negative out.
    async fn amount(&self) -> Money {
        self.0.amount.into()
    }

    async fn balance_after(&self) -> Money {
        self.0.balance_after.into()
    }

    async fn donation(&self, ctx: &Context<'_>) -> FieldResult<Option<Donation>> {
        match &self.0.donation_id {
            Some(id) => Ok(loader::<DonationLoader>(ctx)?
                .load_one(id.clone())
                .await
                .map_err(ApiError::from)?
                .map(Donation)),
            None => Ok(None),
        }
    }
}

/// A campaign's live totals.
#[derive(SimpleObject, Clone)]
pub struct CampaignProgress {
    pub campaign_id: ID,
    pub raised: Money,
    pub donor_count: i32,
    pub participant_count: i32,
}
