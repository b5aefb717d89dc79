//! The challenges domain's messages and records.

use actix::Message;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DomainError, money::Money};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionType {
    Photo,
    Video,
    Quiz,
    Share,
    CheckIn,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChallengeStatus {
    Draft,
    Active,
    Closed,
}

impl ChallengeStatus {
    /// DRAFT→ACTIVE→CLOSED, and DRAFT→CLOSED.
    pub fn can_become(self, next: ChallengeStatus) -> bool {
        use ChallengeStatus::*;
        matches!(
            (self, next),
            (Draft, Active) | (Active, Closed) | (Draft, Closed)
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            ChallengeStatus::Draft => "DRAFT",
            ChallengeStatus::Active => "ACTIVE",
            ChallengeStatus::Closed => "CLOSED",
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ParticipationStatus {
    Joined,
    Submitted,
    Approved,
    Rejected,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Challenge {
    pub id: String,
    pub legacy_id: Option<i64>,
    pub campaign_id: String,
    pub title: String,
    pub description: String,
    pub action_type: ActionType,
    pub reward: Money,
    pub sponsor_id: Option<String>,
    pub quota: Option<i32>,
    pub approved_count: i32,
    pub status: ChallengeStatus,
    pub hidden: bool,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Challenge {
    pub fn remaining_quota(&self) -> Option<i32> {
        self.quota.map(|q| (q - self.approved_count).max(0))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Participation {
    pub id: String,
    pub legacy_id: Option<i64>,
    pub challenge_id: String,
    pub campaign_id: String,
    pub user_id: String,
    pub status: ParticipationStatus,
    pub proof_url: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<String>,
    pub hidden: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub total_count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeaderboardEntry {
    pub rank: i32,
    pub user_id: String,
    pub approved_actions: i32,
}

macro_rules! message {
    ($name:ident => $result:ty) => {
        impl Message for $name {
            type Result = Result<$result, DomainError>;
        }
    };
}

/// A new DRAFT challenge in a campaign that the caller checked exists and is not archived.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateChallenge {
    pub campaign_id: String,
    /// The campaign's currency: the reward must be in it.
    pub campaign_currency: String,
    pub title: String,
    pub description: String,
    pub action_type: ActionType,
    pub reward: Money,
    pub sponsor_id: Option<String>,
    pub quota: Option<i32>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}
message!(CreateChallenge => Challenge);

/// `None` leaves a field as it is; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateChallenge {
    pub id: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub reward: Option<Money>,
    pub sponsor_id: Option<Option<String>>,
    pub quota: Option<Option<i32>>,
    pub starts_at: Option<Option<DateTime<Utc>>>,
    pub ends_at: Option<Option<DateTime<Utc>>>,
}
message!(UpdateChallenge => Challenge);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetChallengeStatus {
    pub id: String,
    pub status: ChallengeStatus,
}
message!(SetChallengeStatus => Challenge);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetChallenges {
    pub ids: Vec<String>,
}
message!(GetChallenges => Vec<Challenge>);

/// A page of challenges (of one campaign, or of all), newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListChallenges {
    pub campaign_id: Option<String>,
    pub status: Option<ChallengeStatus>,
    pub include_hidden: bool,
    /// Drafts are for the campaign's organizer and admins.
    pub include_drafts: bool,
    pub after: Option<String>,
    pub first: u64,
}
message!(ListChallenges => Page<Challenge>);

/// The first page of challenges of each of many campaigns, in one message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChallengesOfCampaigns {
    pub campaign_ids: Vec<String>,
    pub status: Option<ChallengeStatus>,
    pub include_hidden: bool,
    pub include_drafts: bool,
    pub first: u64,
}
message!(ChallengesOfCampaigns => Vec<(String, Page<Challenge>)>);

/// Joins an ACTIVE challenge (the caller checked its campaign is ACTIVE). Once per user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinChallenge {
    pub challenge_id: String,
    pub user_id: String,
}
message!(JoinChallenge => Participation);

/// Proof for one's own participation, when JOINED or REJECTED (a resubmission).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmitAction {
    pub participation_id: String,
    pub user_id: String,
    pub proof_url: String,
}
message!(SubmitAction => Participation);

/// Approves or rejects a SUBMITTED action (the caller checked the reviewer may).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewAction {
    pub participation_id: String,
    pub reviewer_id: String,
    pub approve: bool,
    pub note: Option<String>,
}
message!(ReviewAction => Participation);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetParticipations {
    pub ids: Vec<String>,
}
message!(GetParticipations => Vec<Participation>);

/// A page of participations of a challenge or of a user, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListParticipations {
    pub challenge_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<ParticipationStatus>,
    pub include_hidden: bool,
    pub after: Option<String>,
    pub first: u64,
}
message!(ListParticipations => Page<Participation>);

/// One user's participations in some challenges (for `myParticipation`, batched).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParticipationsOfUser {
    pub user_id: String,
    pub challenge_ids: Vec<String>,
}
message!(ParticipationsOfUser => Vec<Participation>);

/// The top of each campaign's leaderboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Leaderboards {
    pub campaign_ids: Vec<String>,
    pub first: u64,
}
message!(Leaderboards => Vec<(String, Vec<LeaderboardEntry>)>);
