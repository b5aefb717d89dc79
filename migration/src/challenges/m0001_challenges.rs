use gerak_entities::challenges::{challenge, leaderboard_entry, participation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use challenge::Column as C;
        use leaderboard_entry::Column as L;
        use participation::Column as P;
        manager
            .create_table(
                Table::create()
                    .table(challenge::Entity)
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
                    .col(ColumnDef::new(C::CampaignId).string_len(36).not_null())
                    .col(ColumnDef::new(C::Title).string_len(200).not_null())
                    .col(ColumnDef::new(C::Description).text().not_null())
                    .col(ColumnDef::new(C::ActionType).string_len(16).not_null())
                    .col(ColumnDef::new(C::RewardMinor).big_integer().not_null())
                    .col(ColumnDef::new(C::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(C::SponsorId).string_len(36).null())
                    .col(ColumnDef::new(C::Quota).integer().null())
                    .col(
                        ColumnDef::new(C::ApprovedCount)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(C::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(C::Hidden)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(C::StartsAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(C::EndsAt).timestamp_with_time_zone().null())
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
        manager
            .create_index(
                Index::create()
                    .name("challenges_campaign_id")
                    .table(challenge::Entity)
                    .col(C::CampaignId)
                    .col(C::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(participation::Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(P::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(P::LegacyId)
                            .big_integer()
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(P::ChallengeId).string_len(36).not_null())
                    .col(ColumnDef::new(P::CampaignId).string_len(36).not_null())
                    .col(ColumnDef::new(P::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(P::Status).string_len(16).not_null())
                    .col(ColumnDef::new(P::ProofUrl).string_len(2048).null())
                    .col(
                        ColumnDef::new(P::SubmittedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(P::ReviewedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(P::ReviewedBy).string_len(36).null())
                    .col(ColumnDef::new(P::ReviewNote).string_len(1000).null())
                    .col(
                        ColumnDef::new(P::Hidden)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(P::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(P::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, unique, columns) in [
            (
                "participations_challenge_user",
                true,
                vec![P::ChallengeId, P::UserId],
            ),
            (
                "participations_challenge_status",
                false,
                vec![P::ChallengeId, P::Status, P::Id],
            ),
            ("participations_user", false, vec![P::UserId, P::Id]),
        ] {
            let mut index = Index::create();
            index
                .name(name)
                .table(participation::Entity)
                .if_not_exists();
            if unique {
                index.unique();
            }
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(leaderboard_entry::Entity)
                    .if_not_exists()
                    .col(ColumnDef::new(L::CampaignId).string_len(36).not_null())
                    .col(ColumnDef::new(L::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(L::ApprovedActions).integer().not_null())
                    .col(
                        ColumnDef::new(L::ReachedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(L::CampaignId).col(L::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("leaderboard_rank")
                    .table(leaderboard_entry::Entity)
                    .col(L::CampaignId)
                    .col((L::ApprovedActions, IndexOrder::Desc))
                    .col(L::ReachedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        crate::inbox::create(manager).await
    }
}
