//! The campaigns domain's messages and records.

use actix::Message;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DomainError, money::Money};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CampaignStatus {
    Draft,
    Active,
    Ended,
    Archived,
}

impl CampaignStatus {
    /// DRAFT→ACTIVE→ENDED→ARCHIVED, and DRAFT→ARCHIVED.
    pub fn can_become(self, next: CampaignStatus) -> bool {
        use CampaignStatus::*;
        matches!(
            (self, next),
            (Draft, Active) | (Active, Ended) | (Ended, Archived) | (Draft, Archived)
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "DRAFT",
            CampaignStatus::Active => "ACTIVE",
            CampaignStatus::Ended => "ENDED",
            CampaignStatus::Archived => "ARCHIVED",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Campaign {
    pub id: String,
    pub legacy_id: Option<i64>,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub banner_url: Option<String>,
    pub status: CampaignStatus,
    pub goal: Option<Money>,
    pub raised: Money,
    pub donor_count: i64,
    pub participant_count: i64,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub hidden: bool,
    pub organizer_id: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignPage {
    pub campaigns: Vec<Campaign>,
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

/// A new DRAFT campaign. Its currency is the goal's, IDR without a goal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateCampaign {
    pub organizer_id: String,
    pub title: String,
    pub slug: Option<String>,
    pub description: String,
    pub banner_url: Option<String>,
    pub goal: Option<Money>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}
message!(CreateCampaign => Campaign);

/// `None` leaves a field as it is; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateCampaign {
    pub id: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub banner_url: Option<Option<String>>,
    pub goal: Option<Option<Money>>,
    pub starts_at: Option<Option<DateTime<Utc>>>,
    pub ends_at: Option<Option<DateTime<Utc>>>,
}
message!(UpdateCampaign => Campaign);

/// Moves a campaign along its life cycle; illegal transitions are refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetCampaignStatus {
    pub id: String,
    pub status: CampaignStatus,
}
message!(SetCampaignStatus => Campaign);

/// Campaigns by id, hidden ones included (visibility is the caller's decision).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetCampaigns {
    pub ids: Vec<String>,
}
message!(GetCampaigns => Vec<Campaign>);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindCampaignBySlug {
    pub slug: String,
}
message!(FindCampaignBySlug => Option<Campaign>);

/// A page of campaigns, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListCampaigns {
    pub status: Option<CampaignStatus>,
    pub search: Option<String>,
    pub organizer_id: Option<String>,
    pub include_hidden: bool,
    /// Drafts are listed for admins and for their organizer only.
    pub include_drafts: bool,
    pub after: Option<String>,
    pub first: u64,
}
message!(ListCampaigns => CampaignPage);
