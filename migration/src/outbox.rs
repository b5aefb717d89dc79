//! The outbox table every publishing domain has (see `gerak_entities::outbox`).

use gerak_entities::outbox::outbox_event::{Column, Entity};
use sea_orm_migration::prelude::*;

/// One migration per domain database creates it.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Column::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Column::EventId)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Column::EventType).string_len(100).not_null())
                    .col(ColumnDef::new(Column::Payload).text().not_null())
                    .col(
                        ColumnDef::new(Column::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Column::PublishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_events_unpublished")
                    .table(Entity)
                    .col(Column::PublishedAt)
                    .col(Column::Seq)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}
