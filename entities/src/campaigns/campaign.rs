use sea_orm::entity::prelude::*;

/// A social cause. `raised_minor`, `donor_count` and `participant_count` are projections
/// kept from donation and participation events, never computed across databases.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub legacy_id: Option<i64>,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    pub description: String,
    pub banner_url: Option<String>,
    pub status: CampaignStatus,
    pub goal_minor: Option<i64>,
    pub currency: String,
    pub raised_minor: i64,
    pub donor_count: i64,
    pub participant_count: i64,
    pub starts_at: Option<DateTimeUtc>,
    pub ends_at: Option<DateTimeUtc>,
    pub hidden: bool,
    pub organizer_id: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CampaignStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "ENDED")]
    Ended,
    #[sea_orm(string_value = "ARCHIVED")]
    Archived,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
