//! The reports domain's messages and records.

use actix::Message;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DomainError, money::Money};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TargetType {
    Campaign,
    Challenge,
    User,
    Submission,
}

impl TargetType {
    pub fn name(self) -> &'static str {
        match self {
            TargetType::Campaign => "CAMPAIGN",
            TargetType::Challenge => "CHALLENGE",
            TargetType::User => "USER",
            TargetType::Submission => "SUBMISSION",
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Reason {
    Spam,
    Fraud,
    Inappropriate,
    Misinformation,
    Other,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ReportStatus {
    Open,
    Resolved,
    Dismissed,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModerationAction {
    Dismiss,
    HideContent,
    SuspendUser,
    RestoreContent,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub id: String,
    pub legacy_id: Option<i64>,
    pub reporter_id: String,
    pub target_type: TargetType,
    pub target_id: String,
    pub target_owner_id: Option<String>,
    pub reason: Reason,
    pub note: Option<String>,
    pub status: ReportStatus,
    pub resolution: Option<ModerationAction>,
    pub handled_by: Option<String>,
    pub handled_at: Option<DateTime<Utc>>,
    pub is_appeal: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportPage {
    pub reports: Vec<Report>,
    pub has_next_page: bool,
    pub total_count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChallengeStats {
    pub challenge_id: String,
    pub participants: i64,
    pub submitted: i64,
    pub approved: i64,
    pub rejected: i64,
    /// None until a donation was made through the challenge.
    pub donated: Option<Money>,
    pub open_reports: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dashboard {
    pub users: i64,
    pub sponsors: i64,
    pub active_campaigns: i64,
    pub raised: Vec<Money>,
    pub pending_reviews: i64,
    pub open_reports: i64,
}

macro_rules! message {
    ($name:ident => $result:ty) => {
        impl Message for $name {
            type Result = Result<$result, DomainError>;
        }
    };
}

/// A report on a target the caller checked exists (with its owner).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileReport {
    pub reporter_id: String,
    pub target_type: TargetType,
    pub target_id: String,
    pub target_owner_id: Option<String>,
    pub reason: Reason,
    pub note: Option<String>,
}
message!(FileReport => Report);

/// An admin's decision; it closes every OPEN report on the same target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResolveReport {
    pub id: String,
    pub admin_id: String,
    pub action: ModerationAction,
    pub note: Option<String>,
}
message!(ResolveReport => Report);

/// The owner of hidden content asks for it back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Appeal {
    pub owner_id: String,
    pub target_type: TargetType,
    pub target_id: String,
    pub note: String,
}
message!(Appeal => Report);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetReports {
    pub ids: Vec<String>,
}
message!(GetReports => Vec<Report>);

/// The moderation queue, oldest first (first come, first handled).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListReports {
    pub status: Option<ReportStatus>,
    pub target_type: Option<TargetType>,
    pub after: Option<String>,
    pub first: u64,
}
message!(ListReports => ReportPage);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetChallengeStats {
    pub challenge_id: String,
}
message!(GetChallengeStats => ChallengeStats);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetDashboard;
message!(GetDashboard => Dashboard);
