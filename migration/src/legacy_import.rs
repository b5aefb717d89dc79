//! The legacy importer's bookkeeping, in every domain database (`gerak import-legacy`):
//! which batches of which legacy table are done (with a fingerprint of their rows, so a
//! later run notices changed batches), which legacy rows were rejected and why, and which
//! were merged into another row. Kept beside the data they describe so that a batch, its
//! checkpoint, its rejects and its merges commit in one transaction.
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
                    .table(col("legacy_import_batches"))
                    .if_not_exists()
                    .col(
                        ColumnDef::new(col("legacy_table"))
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(col("range_start")).big_integer().not_null())
                    .col(ColumnDef::new(col("row_count")).big_integer().not_null())
                    .col(ColumnDef::new(col("fingerprint")).big_integer().not_null())
                    .col(
                        ColumnDef::new(col("imported_at"))
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(col("legacy_table"))
                            .col(col("range_start")),
                    )
                    .to_owned(),
            )
            .await?;
        for (table, extra) in [
            ("legacy_import_rejects", "row_json"),
            ("legacy_import_merges", "into_id"),
        ] {
            manager
                .create_table(
                    Table::create()
                        .table(col(table))
                        .if_not_exists()
                        .col(
                            ColumnDef::new(col("legacy_table"))
                                .string_len(64)
                                .not_null(),
                        )
                        .col(ColumnDef::new(col("legacy_id")).big_integer().not_null())
                        .col(ColumnDef::new(col("reason")).text().not_null())
                        .col(ColumnDef::new(col(extra)).text().not_null())
                        // Money the legacy row counted as paid that is not in the imported
                        // donations (a rejected payment, a retried webhook), for the
                        // reconciliation.
                        .col(ColumnDef::new(col("currency")).string_len(3).null())
                        .col(ColumnDef::new(col("paid_minor")).big_integer().null())
                        .col(
                            ColumnDef::new(col("recorded_at"))
                                .timestamp_with_time_zone()
                                .not_null(),
                        )
                        .primary_key(
                            Index::create()
                                .col(col("legacy_table"))
                                .col(col("legacy_id")),
                        )
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
