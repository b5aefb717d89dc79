use async_graphql::{Context, Enum, ID, Object, connection::Connection};
use chrono::{DateTime, Utc};
use gerak_actors::challenges as domain;

use super::{MyParticipationLoader, participation_connection, visible_challenge};
use crate::{
    auth::optional_viewer,
    campaigns::Campaign,
    connection::{Cursor, Total},
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
    /// DRAFT→ACTIVE→CLOSED (or DRAFT→CLOSED). Only ACTIVE challenges can be joined.
    ChallengeStatus { Draft, Active, Closed }
);
mirror_enum!(
    /// What the participant does to prove the action.
    ActionType { Photo, Video, Quiz, Share, CheckIn }
);
mirror_enum!(
    /// JOINED → SUBMITTED → APPROVED or REJECTED (a rejected action can be resubmitted).
    ParticipationStatus { Joined, Submitted, Approved, Rejected }
);

/// An action inside a campaign that a sponsor pays for when it is approved.
pub struct Challenge(pub domain::Challenge);

#[Object]
impl Challenge {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn legacy_id(&self) -> Option<i64> {
        self.0.legacy_id
    }

    async fn campaign(&self, ctx: &Context<'_>) -> FieldResult<Campaign> {
        Ok(Campaign(
            crate::campaigns::visible_campaign(ctx, &self.0.campaign_id).await?,
        ))
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    async fn action_type(&self) -> ActionType {
        self.0.action_type.into()
    }

    /// Paid by the sponsor for each approved action, up to the quota.
    async fn reward_per_action(&self) -> Money {
        self.0.reward.into()
    }

    async fn sponsor(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        match &self.0.sponsor_id {
            Some(id) => Ok(load_user(ctx, id).await?.map(User::new)),
            None => Ok(None),
        }
    }

    /// Paid approvals at most; null: unlimited.
    async fn quota(&self) -> Option<i32> {
        self.0.quota
    }

    /// Approved actions so far, including those past the quota (recorded, not paid).
    async fn approved_count(&self) -> i32 {
        self.0.approved_count
    }

    /// Paid approvals left; null when unlimited.
    async fn remaining_quota(&self) -> Option<i32> {
        self.0.remaining_quota()
    }

    async fn status(&self) -> ChallengeStatus {
        self.0.status.into()
    }

    /// Hidden by moderation; visible to admins only.
    async fn hidden(&self) -> bool {
        self.0.hidden
    }

    async fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.0.starts_at
    }

    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.ends_at
    }

    /// Who joined, newest first.
    async fn participants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<ParticipationStatus>,
    ) -> FieldResult<Connection<Cursor, Participation, Total>> {
        Ok(participation_connection(ctx, Some(&self.0.id), None, first, after, status).await?)
    }

    /// The caller's participation; null when not logged in or not joined.
    async fn my_participation(&self, ctx: &Context<'_>) -> FieldResult<Option<Participation>> {
        let Some(viewer) = optional_viewer(ctx)? else {
            return Ok(None);
        };
        let found = loader::<MyParticipationLoader>(ctx)?
            .load_one((viewer.user_id.clone(), self.0.id.clone()))
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(Participation))
    }
}

/// A user taking part in a challenge.
pub struct Participation(pub domain::Participation);

#[Object]
impl Participation {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn challenge(&self, ctx: &Context<'_>) -> FieldResult<Challenge> {
        Ok(Challenge(
            visible_challenge(ctx, &self.0.challenge_id).await?.0,
        ))
    }

    async fn user(&self, ctx: &Context<'_>) -> FieldResult<User> {
        Ok(User::new(
            load_user(ctx, &self.0.user_id)
                .await?
                .ok_or_else(|| ApiError::NotFound("user".to_owned()))?,
        ))
    }

    async fn status(&self) -> ParticipationStatus {
        self.0.status.into()
    }

    /// An https link to the proof.
    async fn proof_url(&self) -> Option<&str> {
        self.0.proof_url.as_deref()
    }

    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at
    }

    async fn reviewed_at(&self) -> Option<DateTime<Utc>> {
        self.0.reviewed_at
    }

    async fn review_note(&self) -> Option<&str> {
        self.0.review_note.as_deref()
    }

    /// Hidden by moderation.
    async fn hidden(&self) -> bool {
        self.0.hidden
    }
}

/// A place on a campaign's leaderboard.
pub struct LeaderboardEntry(pub domain::LeaderboardEntry);

#[Object]
impl LeaderboardEntry {
    async fn rank(&self) -> i32 {
        self.0.rank
    }

    async fn user(&self, ctx: &Context<'_>) -> FieldResult<User> {
        Ok(User::new(
            load_user(ctx, &self.0.user_id)
                .await?
                .ok_or_else(|| ApiError::NotFound("user".to_owned()))?,
        ))
    }

    async fn approved_actions(&self) -> i32 {
        self.0.approved_actions
    }
}
