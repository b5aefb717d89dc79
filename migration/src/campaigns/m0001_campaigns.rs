use gerak_entities::campaigns::{campaign, campaign_member};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use campaign::Column as C;
        use campaign_member::Column as M;
        manager
            .create_table(
                Table::create()
                    .table(campaign::Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(C::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(C::LegacyId)
                            .big_integer()
                            .null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(C::Slug)
                            .string_len(120)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(C::Title).string_len(200).not_null())
                    .col(ColumnDef::new(C::Description).text().not_null())
                    .col(ColumnDef::new(C::BannerUrl).string_len(2048).null())
                    .col(ColumnDef::new(C::Status).string_len(16).not_null())
                    .col(ColumnDef::new(C::GoalMinor).big_integer().null())
                    .col(ColumnDef::new(C::Currency).string_len(3).not_null())
                    .col(
                        ColumnDef::new(C::RaisedMinor)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(C::DonorCount)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(C::ParticipantCount)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(C::StartsAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(C::EndsAt).timestamp_with_time_zone().null())
                    .col(
                        ColumnDef::new(C::Hidden)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(C::OrganizerId).string_len(36).not_null())
                    .col(
                        ColumnDef::new(C::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(C::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("campaigns_status_id", vec![C::Status, C::Id]),
            ("campaigns_organizer_id", vec![C::OrganizerId, C::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(campaign::Entity).if_not_exists();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(campaign_member::Entity)
                    .if_not_exists()
                    .col(ColumnDef::new(M::CampaignId).string_len(36).not_null())
                    .col(ColumnDef::new(M::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(M::Kind).string_len(16).not_null())
                    .col(
                        ColumnDef::new(M::Since)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(M::CampaignId)
                            .col(M::Kind)
                            .col(M::UserId),
                    )
                    .to_owned(),
            )
            .await?;
        crate::inbox::create(manager).await
    }
}
