use sea_orm_migration::prelude::*;

/// The users domain starts consuming events (moderation suspends accounts).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::inbox::create(manager).await
    }
}
