use sea_orm::entity::prelude::*;

/// A user taking part in a challenge: joined, then submitting proof, then reviewed.
/// One per user and challenge (a unique index, so double-clicks cannot make two).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub legacy_id: Option<i64>,
    pub challenge_id: String,
    pub campaign_id: String,
    pub user_id: String,
    pub status: ParticipationStatus,
    pub proof_url: Option<String>,
    pub submitted_at: Option<DateTimeUtc>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub reviewed_by: Option<String>,
    pub review_note: Option<String>,
    pub hidden: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ParticipationStatus {
    #[sea_orm(string_value = "JOINED")]
    Joined,
    #[sea_orm(string_value = "SUBMITTED")]
    Submitted,
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
