//! The first import into a domain database loads millions of rows whose keys arrive in no
//! useful order (UUIDs, ledger accounts). Inserting them one by one into every secondary
//! index touches a random page per key, which outgrows any page cache at `--scale 100`;
//! building an index afterwards sorts the keys once and writes it sequentially. So the
//! first run drops the non-unique indexes of the domain tables, remembers their
//! definitions in `legacy_import_deferred_indexes`, and builds them again when the rows
//! are in. On PostgreSQL it also drops the unique keys of the largest tables that no
//! statement of the load finds rows by ([`DEFERRED_UNIQUE_KEYS`]; the load's upserts and
//! updates go by `legacy_id`, which stays), and adds them back the same way: the importer
//! keeps those keys unique itself, and adding the constraint checks that it did. (SQLite
//! cannot drop a table's own PRIMARY KEY or UNIQUE.) A run killed in between leaves them
//! listed there, and the next run builds them before it writes anything.

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
                // A resumed run: its upserts and updates may need what was deferred.
                let built = build_domain_indexes(domain, db).await?;
                if built > 0 {
                    tracing::info!(
                        domain = domain.name(),
                        built,
                        "indexes an interrupted first import deferred built before resuming"
                    );
                }
                continue;
            }
            let mut indexes = secondary_indexes(db).await.map_err(&err)?;
            if db.get_database_backend() == DbBackend::Postgres {
                indexes.extend(deferrable_unique_keys(db).await.map_err(&err)?);
            }
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
                    drop_statement(name, table, definition),
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
    let mut indexes = index_rows(db, sql).await?;
    indexes.retain(|(_, table, _)| {
        !KEPT_TABLES.contains(&table.as_str()) && !table.ends_with("_migrations")
    });
    Ok(indexes)
}

/// The (name, table, definition) rows `sql` selects, in its first three columns.
async fn index_rows(
    db: &DatabaseConnection,
    sql: &str,
) -> Result<Vec<(String, String, String)>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get_by_index(0)?,
                row.try_get_by_index(1)?,
                row.try_get_by_index(2)?,
            ))
        })
        .collect()
}

/// Unique keys (table, columns as PostgreSQL lists them) that a first load into
/// PostgreSQL builds at its end: random UUIDs and payment references in the tables of
/// millions of rows, which cost the load most of its time there.
const DEFERRED_UNIQUE_KEYS: &[(&str, &str)] = &[
    ("donations", "id"),
    ("donations", "payment_ref"),
    ("donations", "participation_id"),
    ("ledger_entries", "id"),
    ("participations", "id"),
    ("participations", "challenge_id, user_id"),
];

/// (name, table, definition) of the [`DEFERRED_UNIQUE_KEYS`] of a PostgreSQL database:
/// constraints as the `ALTER TABLE … ADD CONSTRAINT` that adds them back, unique indexes
/// as their `CREATE UNIQUE INDEX`.
async fn deferrable_unique_keys(
    db: &DatabaseConnection,
) -> Result<Vec<(String, String, String)>, DbErr> {
    let sql = "SELECT i.indexname, i.tablename, \
               COALESCE('ALTER TABLE ' || quote_ident(i.tablename) || ' ADD CONSTRAINT ' \
               || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid), i.indexdef) \
               FROM pg_indexes i \
               LEFT JOIN pg_constraint c ON c.conname = i.indexname \
               AND c.conrelid = quote_ident(i.tablename)::regclass \
               WHERE i.schemaname = current_schema() AND i.indexdef LIKE 'CREATE UNIQUE%'";
    let mut keys = index_rows(db, sql).await?;
    keys.retain(|(_, table, definition)| {
        // The key's columns: the definition's last parenthesis, "(id)" or "(a, b)".
        let columns = definition
            .strip_suffix(')')
            .and_then(|rest| rest.rsplit_once('('))
            .map_or("", |(_, columns)| columns);
        DEFERRED_UNIQUE_KEYS.contains(&(table.as_str(), columns))
    });
    Ok(keys)
}

/// What removes a deferred index or constraint until `definition` builds it again.
fn drop_statement(name: &str, table: &str, definition: &str) -> String {
    if definition.starts_with("ALTER TABLE") {
        format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            quote(table),
            quote(name)
        )
    } else {
        format!("DROP INDEX {}", quote(name))
    }
}

/// `CREATE [UNIQUE] INDEX x …` as `CREATE [UNIQUE] INDEX IF NOT EXISTS x …`: a build that
/// committed but whose bookkeeping row was not deleted yet is then a no-op, not an error.
/// (Constraints are added in the transaction that deletes their row: PostgreSQL's DDL is
/// transactional.)
fn if_not_exists(definition: &str) -> String {
    for prefix in ["CREATE INDEX ", "CREATE UNIQUE INDEX "] {
        if let Some(rest) = definition.strip_prefix(prefix)
            && !rest.starts_with("IF NOT EXISTS")
        {
            return format!("{prefix}IF NOT EXISTS {rest}");
        }
    }
    definition.to_owned()
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
        assert_eq!(
            if_not_exists("CREATE UNIQUE INDEX p ON public.participations USING btree (a, b)"),
            "CREATE UNIQUE INDEX IF NOT EXISTS p ON public.participations USING btree (a, b)"
        );
        assert_eq!(
            drop_statement(
                "donations_pkey",
                "donations",
                "ALTER TABLE donations ADD CONSTRAINT donations_pkey PRIMARY KEY (id)"
            ),
            r#"ALTER TABLE "donations" DROP CONSTRAINT "donations_pkey""#
        );
    }
}
