use async_graphql::{Context, Enum, ID, Object, connection::Connection};
use chrono::{DateTime, Utc};
use gerak_actors::campaigns as domain;

use crate::{
    challenges::{ChallengeStatus, LeaderboardEntry, challenge_connection, leaderboard},
    connection::{Cursor, Total},
    error::FieldResult,
    money::Money,
    users::{User, load_user},
};

/// Where a campaign is in its life: DRAFT→ACTIVE→ENDED→ARCHIVED (or DRAFT→ARCHIVED).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CampaignStatus {
    Draft,
    Active,
    Ended,
    Archived,
}

impl From<domain::CampaignStatus> for CampaignStatus {
    fn from(status: domain::CampaignStatus) -> Self {
        match status {
            domain::CampaignStatus::Draft => CampaignStatus::Draft,
            domain::CampaignStatus::Active => CampaignStatus::Active,
            domain::CampaignStatus::Ended => CampaignStatus::Ended,
            domain::CampaignStatus::Archived => CampaignStatus::Archived,
        }
    }
}

impl From<CampaignStatus> for domain::CampaignStatus {
    fn from(status: CampaignStatus) -> Self {
        match status {
            CampaignStatus::Draft => domain::CampaignStatus::Draft,
            CampaignStatus::Active => domain::CampaignStatus::Active,
            CampaignStatus::Ended => domain::CampaignStatus::Ended,
            CampaignStatus::Archived => domain::CampaignStatus::Archived,
        }
    }
}

/// A social cause people join and donate to.
pub struct Campaign(pub domain::Campaign);

#[Object]
impl Campaign {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The id this campaign had in the legacy monolith, if it was imported.
    async fn legacy_id(&self) -> Option<i64> {
        self.0.legacy_id
    }

    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    async fn banner_url(&self) -> Option<&str> {
        self.0.banner_url.as_deref()
    }

    async fn status(&self) -> CampaignStatus {
        self.0.status.into()
    }

    async fn goal(&self) -> Option<Money> {
        self.0.goal.map(Money::from)
    }

    /// Paid donations net of refunds.
    async fn raised(&self) -> Money {
        self.0.raised.into()
    }

    /// People who have donated, each counted once.
    async fn donor_count(&self) -> i64 {
        self.0.donor_count
    }

    /// People who have joined one of its challenges, each counted once.
    async fn participant_count(&self) -> i64 {
        self.0.participant_count
    }

    async fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.0.starts_at
    }

    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.ends_at
    }

    /// Hidden by moderation; hidden campaigns are visible to admins only.
    async fn hidden(&self) -> bool {
        self.0.hidden
    }

    async fn organizer(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        Ok(load_user(ctx, &self.0.organizer_id).await?.map(User::new))
    }

    /// Its challenges, newest first.
    async fn challenges(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<ChallengeStatus>,
    ) -> FieldResult<Connection<Cursor, crate::challenges::Challenge, Total>> {
        Ok(challenge_connection(ctx, Some(&self.0), first, after, status).await?)
    }

    /// Participants ranked by approved actions (ties: who got there first).
    async fn leaderboard(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> FieldResult<Vec<LeaderboardEntry>> {
        Ok(leaderboard(ctx, &self.0.id, first).await?)
    }

    /// Its paid donations, newest first (anonymous donors hidden).
    async fn donations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<Cursor, crate::donations::Donation, Total>> {
        Ok(crate::donations::donation_connection(
            ctx,
            Some(self.0.id.clone()),
            None,
            true,
            first,
            after,
        )
        .await?)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
