use sea_orm::entity::prelude::*;

/// Who has donated to or taken part in a campaign, once each, so that `donor_count` and
/// `participant_count` count people, not events.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// "donor" or "participant".
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    pub since: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
