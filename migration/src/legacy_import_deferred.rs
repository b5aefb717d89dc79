//! Secondary indexes the legacy importer dropped for its first bulk load and builds again
//! when the load is done (`gerak import-legacy`): building an index once from sorted keys
//! is many times cheaper than inserting millions of random keys into it one by one. Kept
//! in the database itself, so that an import killed mid-load still builds them next run.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let col = |name: &str| Alias::new(name);
        manager
            .create_table(
                Table::create()
                    .table(col("legacy_import_deferred_indexes"))
                    .if_not_exists()
                    .col(
                        ColumnDef::new(col("index_name"))
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(col("table_name")).string_len(128).not_null())
                    .col(ColumnDef::new(col("definition")).text().not_null())
                    .col(
                        ColumnDef::new(col("deferred_at"))
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("legacy_import_deferred_indexes"))
                    .to_owned(),
            )
            .await
    }
}
