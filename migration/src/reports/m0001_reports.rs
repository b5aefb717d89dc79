use gerak_entities::reports::{
    campaign_state, challenge_total, moderation_target, participation_state, raised_total, report,
    user_state,
};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use report::Column as R;
        manager
            .create_table(
                Table::create()
                    .table(report::Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(R::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(R::LegacyId)
                            .big_integer()
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(R::ReporterId).string_len(36).not_null())
                    .col(ColumnDef::new(R::TargetType).string_len(16).not_null())
                    .col(ColumnDef::new(R::TargetId).string_len(36).not_null())
                    .col(ColumnDef::new(R::TargetOwnerId).string_len(36).null())
                    .col(ColumnDef::new(R::Reason).string_len(32).not_null())
                    .col(ColumnDef::new(R::Note).string_len(1000).null())
                    .col(ColumnDef::new(R::Status).string_len(16).not_null())
                    .col(ColumnDef::new(R::Resolution).string_len(32).null())
                    .col(ColumnDef::new(R::HandledBy).string_len(36).null())
                    .col(
                        ColumnDef::new(R::HandledAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(R::ResolutionNote).string_len(1000).null())
                    .col(
                        ColumnDef::new(R::IsAppeal)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(R::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // One OPEN report per reporter and target, enforced by the database so that two
        // concurrent reports cannot both get in. Partial indexes work on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS reports_one_open ON reports (reporter_id, target_type, target_id) WHERE status = 'OPEN'",
            )
            .await?;
        for (name, columns) in [
            (
                "reports_target",
                vec![R::TargetType, R::TargetId, R::Status],
            ),
            ("reports_status_id", vec![R::Status, R::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(report::Entity).if_not_exists();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        {
            use moderation_target::Column as M;
            manager
                .create_table(
                    Table::create()
                        .table(moderation_target::Entity)
                        .if_not_exists()
                        .col(ColumnDef::new(M::TargetType).string_len(16).not_null())
                        .col(ColumnDef::new(M::TargetId).string_len(36).not_null())
                        .col(ColumnDef::new(M::OwnerId).string_len(36).null())
                        .col(ColumnDef::new(M::Hidden).boolean().not_null())
                        .col(
                            ColumnDef::new(M::ChangedAt)
                                .timestamp_with_time_zone()
                                .not_null(),
                        )
                        .primary_key(Index::create().col(M::TargetType).col(M::TargetId))
                        .to_owned(),
                )
                .await?;
        }
        {
            use participation_state::Column as P;
            manager
                .create_table(
                    Table::create()
                        .table(participation_state::Entity)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(P::ParticipationId)
                                .string_len(36)
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(P::ChallengeId).string_len(36).not_null())
                        .col(ColumnDef::new(P::Status).string_len(16).not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("participation_states_challenge")
                        .table(participation_state::Entity)
                        .col(P::ChallengeId)
                        .col(P::Status)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("participation_states_status")
                        .table(participation_state::Entity)
                        .col(P::Status)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        {
            use challenge_total::Column as T;
            manager
                .create_table(
                    Table::create()
                        .table(challenge_total::Entity)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(T::ChallengeId)
                                .string_len(36)
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(T::Currency).string_len(3).not_null())
                        .col(ColumnDef::new(T::DonatedMinor).big_integer().not_null())
                        .to_owned(),
                )
                .await?;
        }
        {
            use user_state::Column as U;
            manager
                .create_table(
                    Table::create()
                        .table(user_state::Entity)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(U::UserId)
                                .string_len(36)
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(U::Role).string_len(16).not_null())
                        .col(ColumnDef::new(U::Suspended).boolean().not_null())
                        .to_owned(),
                )
                .await?;
        }
        {
            use campaign_state::Column as C;
            manager
                .create_table(
                    Table::create()
                        .table(campaign_state::Entity)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(C::CampaignId)
                                .string_len(36)
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(C::Status).string_len(16).not_null())
                        .to_owned(),
                )
                .await?;
        }
        {
            use raised_total::Column as T;
            manager
                .create_table(
                    Table::create()
                        .table(raised_total::Entity)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(T::Currency)
                                .string_len(3)
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(T::RaisedMinor).big_integer().not_null())
                        .to_owned(),
                )
                .await?;
        }
        crate::inbox::create(manager).await
    }
}
