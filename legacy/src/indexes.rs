//! The first import into a domain database loads millions of rows whose keys arrive in no
//! useful order (UUIDs, ledger accounts). Inserting them one by one into every secondary
//! index touches a random page per key, which outgrows any page cache at `--scale 100`;
//! building an index afterwards sorts the keys once and writes it sequentially. So the
//! first run drops the non-unique indexes of the domain tables (unique ones stay: the
//! upserts and the uniqueness rules need them), remembers their definitions in
//! `legacy_import_deferred_indexes`, and builds them again when the rows are in. A run
//! killed in between leaves them listed there, and the next run builds them at its end.

use chrono::Utc;
use gerak_actors::Domain;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait, Value,
};

use crate::{Importer, LegacyError, state::placeholders};

/// Tables whose indexes stay: the importer's own and the event plumbing.
const KEPT_TABLES: &[&str] = &[
    "legacy_import_batches",
    "legacy_import_rejects",
    "legacy_import_merges",
    "legacy_import_deferred_indexes",
    "outbox_events",
    "processed_events",
];

impl Importer {
    /// On a domain database the import has never written a batch to, drops the
    /// secondary indexes (after recording them). Returns how many were deferred.
    pub(crate) async fn defer_indexes(&self) -> Result<usize, LegacyError> {
        let mut deferred = 0;
        for domain in Domain::ALL {
            let db = self.db(domain);
            let err = Self::write_err(domain);
            let started = count(db, "SELECT COUNT(*) FROM legacy_import_batches")
                .await
                .map_err(&err)?;
            if started > 0 {
                continue;
            }
            let indexes = secondary_indexes(db).await.map_err(&err)?;
            let txn = db.begin().await.map_err(&err)?;
            for (name, table, definition) in &indexes {
                txn.execute_raw(Statement::from_sql_and_values(
                    txn.get_database_backend(),
                    placeholders(
                        &txn,
                        "INSERT INTO legacy_import_deferred_indexes (index_name, table_name, definition, deferred_at) VALUES (?, ?, ?, ?)",
                    ),
                    [
                        Value::from(name.clone()),
                        Value::from(table.clone()),
                        Value::from(definition.clone()),
                        Value::ChronoDateTimeUtc(Some(Utc::now())),
                    ],
                ))
                .await
                .map_err(&err)?;
                txn.execute_raw(Statement::from_string(
                    txn.get_database_backend(),
                    format!("DROP INDEX {}", quote(name)),
                ))
                .await
                .map_err(&err)?;
            }
            txn.commit().await.map_err(&err)?;
            deferred += indexes.len();
        }
        Ok(deferred)
    }
}

/// Builds every index an earlier step deferred on `domain`'s database, each with its own
/// commit. Returns how many.
pub(crate) async fn build_domain_indexes(
    domain: Domain,
    db: &DatabaseConnection,
) -> Result<usize, LegacyError> {
    let err = Importer::write_err(domain);
    let pending = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT index_name, definition FROM legacy_import_deferred_indexes ORDER BY index_name"
                .to_owned(),
        ))
        .await
        .map_err(&err)?;
    let mut built = 0;
    for row in pending {
        let name: String = row.try_get_by_index(0).map_err(&err)?;
        let definition: String = row.try_get_by_index(1).map_err(&err)?;
        let started = std::time::Instant::now();
        let txn = db.begin().await.map_err(&err)?;
        txn.execute_raw(Statement::from_string(
            txn.get_database_backend(),
            if_not_exists(&definition),
        ))
        .await
        .map_err(&err)?;
        txn.execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            placeholders(
                &txn,
                "DELETE FROM legacy_import_deferred_indexes WHERE index_name = ?",
            ),
            [Value::from(name.clone())],
        ))
        .await
        .map_err(&err)?;
        txn.commit().await.map_err(&err)?;
        tracing::info!(
            domain = domain.name(),
            index = %name,
            seconds = started.elapsed().as_secs_f64(),
            "deferred index built"
        );
        built += 1;
    }
    Ok(built)
}

/// (name, table, definition) of the non-unique indexes of the domain tables.
async fn secondary_indexes(
    db: &DatabaseConnection,
) -> Result<Vec<(String, String, String)>, DbErr> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT indexname, tablename, indexdef FROM pg_indexes \
             WHERE schemaname = current_schema() AND indexdef NOT LIKE 'CREATE UNIQUE%'"
        }
        _ => {
            "SELECT name, tbl_name, sql FROM sqlite_master \
             WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let name: String = row.try_get_by_index(0)?;
        let table: String = row.try_get_by_index(1)?;
        let definition: String = row.try_get_by_index(2)?;
        if KEPT_TABLES.contains(&table.as_str()) || table.ends_with("_migrations") {
            continue;
        }
        out.push((name, table, definition));
    }
    Ok(out)
}

/// `CREATE INDEX x …` as `CREATE INDEX IF NOT EXISTS x …`: a build that committed but
/// whose bookkeeping row was not deleted yet is then a no-op, not an error.
fn if_not_exists(definition: &str) -> String {
    match definition.strip_prefix("CREATE INDEX ") {
        Some(rest) if !rest.starts_with("IF NOT EXISTS") => {
            format!("CREATE INDEX IF NOT EXISTS {rest}")
        }
        _ => definition.to_owned(),
    }
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

async fn count(db: &DatabaseConnection, sql: &str) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_definitions_become_idempotent() {
        assert_eq!(
            if_not_exists(r#"CREATE INDEX "donations_donor" ON "donations" ("donor_id", "id")"#),
            r#"CREATE INDEX IF NOT EXISTS "donations_donor" ON "donations" ("donor_id", "id")"#
        );
        assert_eq!(
            if_not_exists(
                "CREATE INDEX ledger_account ON public.ledger_entries USING btree (owner_type)"
            ),
            "CREATE INDEX IF NOT EXISTS ledger_account ON public.ledger_entries USING btree (owner_type)"
        );
        assert_eq!(
            if_not_exists("CREATE INDEX IF NOT EXISTS x ON t (a)"),
            "CREATE INDEX IF NOT EXISTS x ON t (a)"
        );
    }
}
