use sea_orm::entity::prelude::*;

/// An action inside a campaign; its sponsor pays `reward_minor` for each approved action
/// up to `quota` (null: unlimited).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "challenges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub legacy_id: Option<i64>,
    pub campaign_id: String,
    pub title: String,
    pub description: String,
    pub action_type: ActionType,
    pub reward_minor: i64,
    pub currency: String,
    pub sponsor_id: Option<String>,
    pub quota: Option<i32>,
    pub approved_count: i32,
    pub status: ChallengeStatus,
    pub hidden: bool,
    pub starts_at: Option<DateTimeUtc>,
    pub ends_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ChallengeStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "CLOSED")]
    Closed,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ActionType {
    #[sea_orm(string_value = "PHOTO")]
    Photo,
    #[sea_orm(string_value = "VIDEO")]
    Video,
    #[sea_orm(string_value = "QUIZ")]
    Quiz,
    #[sea_orm(string_value = "SHARE")]
    Share,
    #[sea_orm(string_value = "CHECK_IN")]
    CheckIn,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
