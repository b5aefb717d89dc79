use sea_orm::entity::prelude::*;

/// Each participation's latest status, from the challenges domain's events.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participation_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub participation_id: String,
    pub challenge_id: String,
    pub status: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
