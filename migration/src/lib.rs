//! One Migrator per domain database, each with its own migration table, so that the
//! domains can share one database server (or even one database) without stepping on
//! each other's migration history.

use sea_orm_migration::prelude::*;

mod byte_order_keys;
pub mod campaigns;
pub mod challenges;
pub mod donations;
mod inbox;
pub mod legacy_import;
pub mod legacy_import_deferred;
mod outbox;
mod outbox_pending;
pub mod reports;
pub mod users;

pub use sea_orm_migration::MigratorTrait;

macro_rules! migrator {
    ($(#[$doc:meta])* $name:ident, $table:literal, [$($migration:expr),* $(,)?]) => {
        $(#[$doc])*
        pub struct $name;

        impl MigratorTrait for $name {
            fn migrations() -> Vec<Box<dyn MigrationTrait>> {
                vec![$(Box::new($migration)),*]
            }

            fn migration_table_name() -> DynIden {
                Alias::new($table).into_iden()
            }
        }
    };
}

migrator!(
    /// The users database: accounts and refresh tokens.
    UsersMigrator,
    "gerak_users_migrations",
    [
        users::m0001_accounts::Migration,
        users::m0002_inbox::Migration,
        outbox::Migration,
        legacy_import::Migration,
        legacy_import_deferred::Migration,
        outbox_pending::Migration,
        byte_order_keys::Migration,
    ]
);
migrator!(
    /// The campaigns database: campaigns and their projections.
    CampaignsMigrator,
    "gerak_campaigns_migrations",
    [
        campaigns::m0001_campaigns::Migration,
        outbox::Migration,
        legacy_import::Migration,
        legacy_import_deferred::Migration,
        outbox_pending::Migration,
        byte_order_keys::Migration,
    ]
);
migrator!(
    /// The challenges database: challenges, participations, the leaderboard.
    ChallengesMigrator,
    "gerak_challenges_migrations",
    [
        challenges::m0001_challenges::Migration,
        outbox::Migration,
        legacy_import::Migration,
        legacy_import_deferred::Migration,
        outbox_pending::Migration,
        byte_order_keys::Migration,
    ]
);
migrator!(
    /// The donations database: donations and the double-entry ledger.
    DonationsMigrator,
    "gerak_donations_migrations",
    [
        donations::m0001_donations::Migration,
        outbox::Migration,
        legacy_import::Migration,
        legacy_import_deferred::Migration,
        outbox_pending::Migration,
        byte_order_keys::Migration,
        donations::m0002_ledger_account_by_owner::Migration,
    ]
);
migrator!(
    /// The reports database: reports, moderation, and the admin projections.
    ReportsMigrator,
    "gerak_reports_migrations",
    [
        reports::m0001_reports::Migration,
        outbox::Migration,
        legacy_import::Migration,
        legacy_import_deferred::Migration,
        outbox_pending::Migration,
        byte_order_keys::Migration,
    ]
);
