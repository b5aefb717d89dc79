use gerak_entities::users::{refresh_token, user};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use refresh_token::Column as T;
        use user::Column as U;
        manager
            .create_table(
                Table::create()
                    .table(user::Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(U::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(U::LegacyId)
                            .big_integer()
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(U::Email).string_len(320).not_null())
                    .col(
                        ColumnDef::new(U::EmailKey)
                            .string_len(320)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(U::PasswordHash).string().not_null())
                    .col(ColumnDef::new(U::PasswordScheme).string_len(16).not_null())
                    .col(ColumnDef::new(U::FullName).string_len(200).not_null())
                    .col(ColumnDef::new(U::Role).string_len(16).not_null())
                    .col(ColumnDef::new(U::CompanyName).string_len(200).null())
                    .col(ColumnDef::new(U::AvatarUrl).string_len(2048).null())
                    .col(ColumnDef::new(U::Phone).string_len(32).null())
                    .col(
                        ColumnDef::new(U::Suspended)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(U::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(U::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("users_role_id")
                    .table(user::Entity)
                    .col(U::Role)
                    .col(U::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(refresh_token::Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(T::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(T::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(T::FamilyId).string_len(36).not_null())
                    .col(
                        ColumnDef::new(T::TokenHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(T::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(T::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(T::UsedAt).timestamp_with_time_zone().null())
                    .col(
                        ColumnDef::new(T::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("refresh_tokens_user", T::UserId),
            ("refresh_tokens_family", T::FamilyId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(refresh_token::Entity)
                        .col(column)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
