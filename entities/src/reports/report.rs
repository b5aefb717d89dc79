use sea_orm::entity::prelude::*;

/// A user's report about content or another user, or an owner's appeal against hiding.
/// One OPEN report per reporter and target (a partial unique index).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub legacy_id: Option<i64>,
    pub reporter_id: String,
    pub target_type: ReportTargetType,
    pub target_id: String,
    /// Whose content it is (the user themself for USER targets).
    pub target_owner_id: Option<String>,
    pub reason: String,
    pub note: Option<String>,
    pub status: ReportStatus,
    pub resolution: Option<String>,
    pub handled_by: Option<String>,
    pub handled_at: Option<DateTimeUtc>,
    pub resolution_note: Option<String>,
    pub is_appeal: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ReportTargetType {
    #[sea_orm(string_value = "CAMPAIGN")]
    Campaign,
    #[sea_orm(string_value = "CHALLENGE")]
    Challenge,
    #[sea_orm(string_value = "USER")]
    User,
    #[sea_orm(string_value = "SUBMISSION")]
    Submission,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ReportStatus {
    #[sea_orm(string_value = "OPEN")]
    Open,
    #[sea_orm(string_value = "RESOLVED")]
    Resolved,
    #[sea_orm(string_value = "DISMISSED")]
    Dismissed,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
