use sea_orm::entity::prelude::*;

/// A gift to a campaign: DIRECT from a donor (PENDING until the payment provider
/// answers), or a SPONSOR_MATCH for an approved action (PAID at once, invoiced).
/// `participation_id` is unique: one match per approved participation, by the database.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "donations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub legacy_id: Option<i64>,
    pub kind: DonationKind,
    pub status: DonationStatus,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    pub currency: String,
    pub donor_id: Option<String>,
    pub anonymous: bool,
    pub campaign_id: String,
    pub challenge_id: Option<String>,
    #[sea_orm(unique)]
    pub participation_id: Option<String>,
    #[sea_orm(unique)]
    pub payment_ref: String,
    pub created_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum DonationKind {
    #[sea_orm(string_value = "DIRECT")]
    Direct,
    #[sea_orm(string_value = "SPONSOR_MATCH")]
    SponsorMatch,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum DonationStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "PAID")]
    Paid,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    #[sea_orm(string_value = "REFUNDED")]
    Refunded,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
