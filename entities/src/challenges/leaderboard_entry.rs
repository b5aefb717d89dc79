use sea_orm::entity::prelude::*;

/// A campaign's leaderboard, kept up to date in the same transaction as each approval so
/// that reading the top N is one indexed query, however many participations there are.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leaderboard_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub approved_actions: i32,
    /// When the user reached their current count: ties go to whoever got there first.
    pub reached_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
