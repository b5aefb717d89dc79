//! The inbox table every consuming domain has (see `gerak_entities::inbox`).

use gerak_entities::inbox::processed_event::{Column, Entity};
use sea_orm_migration::prelude::*;

pub async fn create(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Entity)
                .if_not_exists()
                .col(
                    ColumnDef::new(Column::EventId)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Column::EventType).string_len(100).not_null())
                .col(
                    ColumnDef::new(Column::ProcessedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await
}
