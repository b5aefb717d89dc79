//! The relay's read of unpublished events walks an index of only those: a partial index
//! on `seq` where `published_at IS NULL`. The index it replaces, on `(published_at, seq)`,
//! kept an entry per published row too, and on PostgreSQL every published row left a dead
//! entry under NULL until vacuum: with 100k events behind it (autovacuum off, or not yet
//! run) the relay's read took 150 ms and held up the events arriving meanwhile. A plain
//! scan of the partial index marks the dead entries it meets, so the next one skips them.

use gerak_entities::outbox::outbox_event::{Column, Entity};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("outbox_events_pending")
                    .table(Entity)
                    .col(Column::Seq)
                    .and_where(Expr::col(Column::PublishedAt).is_null())
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("outbox_events_unpublished")
                    .table(Entity)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("outbox_events_pending")
                    .table(Entity)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
