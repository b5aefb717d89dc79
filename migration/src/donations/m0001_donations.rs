use gerak_entities::donations::{donation, ledger_entry};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use donation::Column as D;
        use ledger_entry::Column as L;
        manager
            .create_table(
                Table::create()
                    .table(donation::Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(D::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(D::LegacyId)
                            .big_integer()
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(D::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(D::Status).string_len(16).not_null())
                    .col(ColumnDef::new(D::AmountMinor).big_integer().not_null())
                    .col(
                        ColumnDef::new(D::RefundedMinor)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(D::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(D::DonorId).string_len(36).null())
                    .col(
                        ColumnDef::new(D::Anonymous)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(D::CampaignId).string_len(36).not_null())
                    .col(ColumnDef::new(D::ChallengeId).string_len(36).null())
                    .col(
                        ColumnDef::new(D::ParticipationId)
                            .string_len(36)
                            .null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(D::PaymentRef)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(D::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(D::PaidAt).timestamp_with_time_zone().null())
                    .col(
                        ColumnDef::new(D::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // The ledger's guard rails, in the database itself.
                    .check(Expr::col(D::AmountMinor).gt(0))
                    .check(
                        Expr::col(D::RefundedMinor)
                            .gte(0)
                            .and(Expr::col(D::RefundedMinor).lte(Expr::col(D::AmountMinor))),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("donations_campaign", vec![D::CampaignId, D::Id]),
            ("donations_donor", vec![D::DonorId, D::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(donation::Entity).if_not_exists();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ledger_entry::Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(L::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(L::MovementId).string_len(36).not_null())
                    .col(ColumnDef::new(L::OwnerType).string_len(16).not_null())
                    .col(ColumnDef::new(L::OwnerId).string_len(64).not_null())
                    .col(ColumnDef::new(L::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(L::AmountMinor).big_integer().not_null())
                    .col(ColumnDef::new(L::DonationId).string_len(36).null())
                    .col(ColumnDef::new(L::Description).string_len(300).not_null())
                    .col(
                        ColumnDef::new(L::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ledger_account")
                    .table(ledger_entry::Entity)
                    .col(L::OwnerType)
                    .col(L::OwnerId)
                    .col(L::Currency)
                    .col(L::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        crate::inbox::create(manager).await
    }
}
