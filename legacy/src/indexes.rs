//! The first import into a domain database loads millions of rows whose keys arrive in no
//! useful order (UUIDs, ledger accounts). Inserting them one by one into every secondary
//! index touches a random page per key, which outgrows any page cache at `--scale 100`;
//! building an index afterwards sorts the keys once and writes it sequentially. So the
//! first run drops the non-unique indexes of the domain tables, remembers their
//! definitions in `legacy_import_deferred_indexes`, and builds them again when the rows
//! are in. It also drops the unique keys of the largest tables that no statement of the
//! load finds rows by ([`DEFERRED_UNIQUE_KEYS`]; the load's upserts and updates go by
//! `legacy_id`, which stays), and adds them back the same way: the importer keeps those
//! keys unique itself, and building the key checks that it did. SQLite cannot drop a
//! table's own PRIMARY KEY or UNIQUE (of a column or of several), so there the table is
//! rebuilt without them (same columns, checks and rows) and they come back as unique
//! indexes. A run killed in between leaves them listed, and the next run builds them
//! before it writes anything.

use chrono::Utc;
use gerak_actors::Domain;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement,
    TransactionTrait, Value,
};

use crate::{HashSet, Importer, LegacyError, state::placeholders, tables::members::MEMBERS_TABLE};

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
    /// secondary indexes (after recording them). Returns how many were deferred. When the
    /// campaign members' key is among them, the importer keeps those rows unique itself
    /// from now on ([`Importer::push_member`]).
    pub(crate) async fn defer_indexes(&mut self) -> Result<usize, LegacyError> {
        let mut deferred = 0;
        let mut members_deferred = false;
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
            let unique_keys = deferrable_unique_keys(db).await.map_err(&err)?;
            members_deferred |= unique_keys
                .iter()
                .any(|(_, table, _)| table == MEMBERS_TABLE);
            indexes.extend(unique_keys);
            let txn = db.begin().await.map_err(&err)?;
            for (name, table, definition) in &indexes {
                record_deferred(&txn, name, table, definition)
                    .await
                    .map_err(&err)?;
                txn.execute_raw(Statement::from_string(
                    txn.get_database_backend(),
                    drop_statement(name, table, definition),
                ))
                .await
                .map_err(&err)?;
            }
            deferred += indexes.len();
            if db.get_database_backend() == DbBackend::Sqlite {
                for table in tables_with_deferred_keys() {
                    for (name, definition) in
                        rebuild_without_own_keys(&txn, table).await.map_err(&err)?
                    {
                        record_deferred(&txn, &name, table, &definition)
                            .await
                            .map_err(&err)?;
                        members_deferred |= table == MEMBERS_TABLE;
                        deferred += 1;
                    }
                }
            }
            txn.commit().await.map_err(&err)?;
        }
        if members_deferred {
            self.members_written = Some(HashSet::default());
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

/// Unique keys (table, columns as PostgreSQL lists them) that a first load builds at its
/// end: random UUIDs and payment references in the tables of millions of rows, which cost
/// the load most of its time.
const DEFERRED_UNIQUE_KEYS: &[(&str, &str)] = &[
    ("donations", "id"),
    ("donations", "payment_ref"),
    ("donations", "participation_id"),
    ("ledger_entries", "id"),
    ("participations", "id"),
    ("participations", "challenge_id, user_id"),
    // On SQLite the table's own composite PRIMARY KEY. Deferring it made the load 3.5 s
    // shorter at --scale 100 (members inserted one by one at random places of the key
    // were 14 s of the writers' time) for a 4.8 s build beside the donations' indexes.
    (MEMBERS_TABLE, "campaign_id, kind, user_id"),
];

/// (name, table, definition) of the [`DEFERRED_UNIQUE_KEYS`] that are indexes or
/// constraints of their own: on PostgreSQL constraints as the `ALTER TABLE … ADD
/// CONSTRAINT` that adds them back, unique indexes as their `CREATE UNIQUE INDEX`; on
/// SQLite the unique indexes created apart from their table (a table's own keys are
/// [`rebuild_without_own_keys`]'s).
async fn deferrable_unique_keys(
    db: &DatabaseConnection,
) -> Result<Vec<(String, String, String)>, DbErr> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT i.indexname, i.tablename, \
             COALESCE('ALTER TABLE ' || quote_ident(i.tablename) || ' ADD CONSTRAINT ' \
             || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid), i.indexdef) \
             FROM pg_indexes i \
             LEFT JOIN pg_constraint c ON c.conname = i.indexname \
             AND c.conrelid = quote_ident(i.tablename)::regclass \
             WHERE i.schemaname = current_schema() AND i.indexdef LIKE 'CREATE UNIQUE%'"
        }
        _ => {
            "SELECT name, tbl_name, sql FROM sqlite_master \
             WHERE type = 'index' AND sql LIKE 'CREATE UNIQUE%'"
        }
    };
    let mut keys = index_rows(db, sql).await?;
    keys.retain(|(_, table, definition)| {
        // The key's columns: the definition's last parenthesis, "(id)" or "(a, b)"
        // (SQLite keeps them quoted as created).
        let columns = definition
            .strip_suffix(')')
            .and_then(|rest| rest.rsplit_once('('))
            .map_or(String::new(), |(_, columns)| columns.replace('"', ""));
        DEFERRED_UNIQUE_KEYS.contains(&(table.as_str(), columns.as_str()))
    });
    Ok(keys)
}

/// The tables with a key among the [`DEFERRED_UNIQUE_KEYS`], each once.
fn tables_with_deferred_keys() -> Vec<&'static str> {
    let mut tables: Vec<&str> = Vec::new();
    for (table, _) in DEFERRED_UNIQUE_KEYS {
        if !tables.contains(table) {
            tables.push(table);
        }
    }
    tables
}

/// On SQLite, rebuilds `table` without its own PRIMARY KEY or UNIQUE (of a column, or a
/// table constraint over several) where that key is one of its [`DEFERRED_UNIQUE_KEYS`]:
/// the same columns, checks and rows (a database the server was used on before the import
/// may have some), and its other indexes again. Returns each key dropped as the unique
/// index that brings it back, named `<table>_<columns>_key` (`donations_id_key`): the
/// same uniqueness, which `ON CONFLICT (columns)` finds as it found the table's own.
async fn rebuild_without_own_keys(
    txn: &DatabaseTransaction,
    table: &str,
) -> Result<Vec<(String, String)>, DbErr> {
    let backend = txn.get_database_backend();
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL",
            [Value::from(table)],
        ))
        .await?;
    let mut create = None;
    let mut indexes = Vec::new();
    for row in rows {
        let kind: String = row.try_get_by_index(0)?;
        let sql: String = row.try_get_by_index(1)?;
        if kind == "table" {
            create = Some(sql);
        } else if kind == "index" {
            indexes.push(sql);
        }
    }
    let Some(create) = create else {
        return Ok(Vec::new());
    };
    let keys: Vec<&str> = DEFERRED_UNIQUE_KEYS
        .iter()
        .filter(|(t, _)| *t == table)
        .map(|(_, columns)| *columns)
        .collect();
    let scratch = format!("{table}_legacy_import");
    let Some((rebuilt, dropped)) = without_own_keys(&create, &quote(&scratch), &keys) else {
        return Ok(Vec::new());
    };
    for sql in [
        rebuilt,
        format!(
            "INSERT INTO {} SELECT * FROM {}",
            quote(&scratch),
            quote(table)
        ),
        format!("DROP TABLE {}", quote(table)),
        format!("ALTER TABLE {} RENAME TO {}", quote(&scratch), quote(table)),
    ]
    .into_iter()
    .chain(indexes)
    {
        txn.execute_raw(Statement::from_string(backend, sql))
            .await?;
    }
    Ok(dropped
        .into_iter()
        .map(|key| {
            let columns: Vec<&str> = key.split(", ").collect();
            let name = format!("{table}_{}_key", columns.join("_"));
            let definition = format!(
                "CREATE UNIQUE INDEX {} ON {} ({})",
                quote(&name),
                quote(table),
                columns
                    .iter()
                    .map(|column| quote(column))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (name, definition)
        })
        .collect())
}

/// `create` (a `CREATE TABLE "t" ( … )` as SQLite stores it) for a table named `name`,
/// without the `PRIMARY KEY` and `UNIQUE` of the listed keys (a column, `"id"`, or a
/// table constraint's columns, `"a, b"`), and the keys that were dropped. `None` when
/// there was none.
fn without_own_keys<'k>(
    create: &str,
    name: &str,
    keys: &[&'k str],
) -> Option<(String, Vec<&'k str>)> {
    let open = create.find('(')?;
    let close = create.rfind(')')?;
    let mut dropped = Vec::new();
    let mut items: Vec<String> = Vec::new();
    for item in split_top_level(&create[open + 1..close]) {
        let item = item.trim();
        let constraint = constraint_columns(item);
        if let Some(key) = keys.iter().find(|key| constraint.as_deref() == Some(**key)) {
            dropped.push(*key);
            continue;
        }
        let column = keys
            .iter()
            .find(|c| item.starts_with(&format!("{} ", quote(c))));
        match column {
            Some(column) => {
                let kept = without_key_words(item);
                if kept != item {
                    dropped.push(*column);
                }
                items.push(kept);
            }
            None => items.push(item.to_owned()),
        }
    }
    if dropped.is_empty() {
        return None;
    }
    Some((
        format!(
            "CREATE TABLE {name} ( {} ){}",
            items.join(", "),
            &create[close + 1..]
        ),
        dropped,
    ))
}

/// The columns of a table constraint `PRIMARY KEY ("a", "b")` or `UNIQUE ("a", "b")`
/// as `a, b`; `None` for any other item of a table's definition.
fn constraint_columns(item: &str) -> Option<String> {
    let rest = item
        .strip_prefix("PRIMARY KEY")
        .or_else(|| item.strip_prefix("UNIQUE"))?;
    let columns = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        split_top_level(columns)
            .into_iter()
            .map(|column| column.trim().trim_matches('"'))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// A column's definition without ` PRIMARY KEY` and ` UNIQUE` (outside quotes).
fn without_key_words(definition: &str) -> String {
    let mut kept = String::with_capacity(definition.len());
    let mut copied = 0;
    for (i, c) in unquoted(definition) {
        if c != ' ' || i < copied {
            continue;
        }
        let rest = &definition[i..];
        if let Some(word) = [" PRIMARY KEY", " UNIQUE"].into_iter().find(|word| {
            rest.strip_prefix(word)
                .is_some_and(|after| after.is_empty() || after.starts_with(' '))
        }) {
            kept.push_str(&definition[copied..i]);
            copied = i + word.len();
        }
    }
    kept.push_str(&definition[copied..]);
    kept
}

/// A column list split at its commas outside parentheses and quotes.
fn split_top_level(list: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in unquoted(list) {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&list[start..]);
    items
}

/// The characters of `sql` (with their byte offsets) outside quotes, quotes left out.
fn unquoted(sql: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut quote = None;
    sql.char_indices().filter(move |&(_, c)| match quote {
        Some(q) => {
            if c == q {
                quote = None;
            }
            false
        }
        None if matches!(c, '"' | '\'' | '`') => {
            quote = Some(c);
            false
        }
        None => true,
    })
}

/// Lists a dropped index or key to be built again.
async fn record_deferred(
    txn: &DatabaseTransaction,
    name: &str,
    table: &str,
    definition: &str,
) -> Result<(), DbErr> {
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        placeholders(
            txn,
            "INSERT INTO legacy_import_deferred_indexes (index_name, table_name, definition, deferred_at) VALUES (?, ?, ?, ?)",
        ),
        [
            Value::from(name),
            Value::from(table),
            Value::from(definition),
            Value::ChronoDateTimeUtc(Some(Utc::now())),
        ],
    ))
    .await
    .map(|_| ())
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
    fn column_keys_come_off_a_sqlite_table_and_nothing_else_does() {
        let create = r#"CREATE TABLE "donations" ( "id" varchar(36) NOT NULL PRIMARY KEY, "legacy_id" integer NULL UNIQUE, "amount_minor" integer NOT NULL, "refunded_minor" integer NOT NULL DEFAULT 0, "payment_ref" varchar(64) NOT NULL UNIQUE, "note" varchar(9) NOT NULL DEFAULT 'a, UNIQUE', CHECK ("amount_minor" > 0), CHECK ("refunded_minor" >= 0 AND "refunded_minor" <= "amount_minor") )"#;
        let (rebuilt, dropped) =
            without_own_keys(create, r#""scratch""#, &["id", "payment_ref", "note"]).unwrap();
        assert_eq!(
            rebuilt,
            r#"CREATE TABLE "scratch" ( "id" varchar(36) NOT NULL, "legacy_id" integer NULL UNIQUE, "amount_minor" integer NOT NULL, "refunded_minor" integer NOT NULL DEFAULT 0, "payment_ref" varchar(64) NOT NULL, "note" varchar(9) NOT NULL DEFAULT 'a, UNIQUE', CHECK ("amount_minor" > 0), CHECK ("refunded_minor" >= 0 AND "refunded_minor" <= "amount_minor") )"#
        );
        assert_eq!(dropped, ["id", "payment_ref"]);
        assert!(without_own_keys(create, "x", &["amount_minor"]).is_none());
    }

    #[test]
    fn a_composite_key_comes_off_a_sqlite_table() {
        let create = r#"CREATE TABLE IF NOT EXISTS "campaign_members" ( "campaign_id" varchar(36) NOT NULL, "user_id" varchar(36) NOT NULL, "kind" varchar(16) NOT NULL, "since" timestamp_with_timezone_text NOT NULL, PRIMARY KEY ("campaign_id", "kind", "user_id") )"#;
        let (rebuilt, dropped) =
            without_own_keys(create, r#""scratch""#, &["campaign_id, kind, user_id"]).unwrap();
        assert_eq!(
            rebuilt,
            r#"CREATE TABLE "scratch" ( "campaign_id" varchar(36) NOT NULL, "user_id" varchar(36) NOT NULL, "kind" varchar(16) NOT NULL, "since" timestamp_with_timezone_text NOT NULL )"#
        );
        assert_eq!(dropped, ["campaign_id, kind, user_id"]);
        // Another composite key, or the same columns in another order, is not this one.
        assert!(without_own_keys(create, "x", &["campaign_id, user_id"]).is_none());
        assert!(without_own_keys(create, "x", &["kind, campaign_id, user_id"]).is_none());
        assert_eq!(
            constraint_columns(r#"UNIQUE ("a", "b")"#).as_deref(),
            Some("a, b")
        );
        assert_eq!(constraint_columns(r#""a" varchar(9) UNIQUE"#), None);
    }

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
