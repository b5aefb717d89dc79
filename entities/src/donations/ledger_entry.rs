use sea_orm::entity::prelude::*;

/// One leg of a money movement. Every movement writes entries that sum to zero per
/// currency, in the same transaction as the donation's change. `amount_minor` is signed
/// from the account's point of view: positive in, negative out.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    /// UUIDv7: time-ordered, so entries sort in the order they were written.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The movement this leg belongs to; its legs sum to zero.
    pub movement_id: String,
    /// USER, CAMPAIGN or EXTERNAL.
    pub owner_type: String,
    pub owner_id: String,
    pub currency: String,
    pub amount_minor: i64,
    pub donation_id: Option<String>,
    pub description: String,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
