//! What one batch of legacy rows becomes: multi-row INSERTs for the primary domain
//! database (with the batch's checkpoint, rejects and merges, in one transaction) and for
//! the other domains' projections; and the SQL that writes them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use gerak_actors::{Domain, money::Money};
pub use sea_orm::Value as SqlValue;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use crate::source::LegacyRow;

/// Bound parameters per statement (SQLite allows 32,766, PostgreSQL 65,535). Measured:
/// statements of a few thousand parameters are faster than the largest possible ones,
/// whose size makes every execution allocate and copy more than it saves.
const MAX_PARAMS: usize = 4_000;

/// The text of each multi-row INSERT, built once per (table, rows, backend, conflict):
/// full chunks repeat it for every batch.
/// (table and conflict clause, rows, PostgreSQL placeholders) → SQL text.
type SqlKey = (String, usize, bool);

static SQL_CACHE: std::sync::LazyLock<std::sync::Mutex<HashMap<SqlKey, String>>> =
    std::sync::LazyLock::new(Default::default);

/// A multi-row INSERT into one table, with what to do when the row is already there.
#[derive(Debug, Clone)]
pub struct Insert {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    conflict: String,
    /// Every row's key derives from a legacy row of its batch (see [`Insert::batch_owned`]).
    pub batch_owned: bool,
}

impl Insert {
    pub fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Self {
            table,
            columns,
            conflict: String::new(),
            batch_owned: false,
        }
    }

    /// The rows' keys all derive from legacy rows of their batch, and the rows are written
    /// in the transaction that records the batch's checkpoint: a batch written for the
    /// first time (no checkpoint) finds none of them in the table, so on PostgreSQL they
    /// are written with `COPY`, which needs no conflict handling (a million ledger rows
    /// into their table: 7 s, against 12 s with the INSERT).
    pub fn batch_owned(mut self) -> Self {
        self.batch_owned = true;
        self
    }

    /// `ON CONFLICT (key) DO UPDATE SET` the given columns: a later run brings an updated
    /// legacy row up to date.
    pub fn upsert(mut self, key: &[&str], update: &[&str]) -> Self {
        let set: Vec<String> = update
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        self.conflict = format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            key.join(", "),
            set.join(", ")
        );
        self
    }

    pub fn ignore(mut self, key: &[&str]) -> Self {
        self.conflict = format!(" ON CONFLICT ({}) DO NOTHING", key.join(", "));
        self
    }

    /// Writes `rows` in as few statements as the parameter limit allows. Statements of a
    /// full chunk have the same text, so the driver prepares them once per connection.
    pub async fn write<C: ConnectionTrait>(
        &self,
        db: &C,
        rows: Vec<Vec<Value>>,
    ) -> Result<(), DbErr> {
        let backend = db.get_database_backend();
        let per_statement = (MAX_PARAMS / self.columns.len()).max(1);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<Value>> = rows.by_ref().take(per_statement).collect();
            let sql = self.cached_sql(backend, chunk.len());
            let values: Vec<Value> = chunk.into_iter().flatten().collect();
            db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
        }
        Ok(())
    }

    /// The INSERT of a batch as arrays, one per column (PostgreSQL), cast as `casts`.
    pub fn unnest_sql(&self, casts: &[&str]) -> String {
        let arrays: Vec<String> = casts
            .iter()
            .enumerate()
            .map(|(i, cast)| format!("${}::{cast}", i + 1))
            .collect();
        format!(
            "INSERT INTO {} ({}) SELECT * FROM UNNEST({}){}",
            self.table,
            self.columns.join(", "),
            arrays.join(", "),
            self.conflict
        )
    }

    /// The binary `COPY` of rows (PostgreSQL), for rows that cannot conflict.
    pub fn copy_sql(&self) -> String {
        format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            self.table,
            self.columns.join(", ")
        )
    }

    /// The INSERT of one row, with `?` placeholders.
    pub fn single_row_sql(&self) -> String {
        self.sql(DbBackend::Sqlite, 1)
    }

    /// The INSERT of one row that cannot be in the table yet (see [`Insert::batch_owned`]):
    /// no conflict clause, as a first load may have deferred the key one would name.
    pub fn single_new_row_sql(&self) -> String {
        let sql = self.single_row_sql();
        sql[..sql.len() - self.conflict.len()].to_owned()
    }

    fn cached_sql(&self, backend: DbBackend, rows: usize) -> String {
        let key = (
            format!("{} {}", self.table, self.conflict),
            rows,
            backend == DbBackend::Postgres,
        );
        let per_statement = (MAX_PARAMS / self.columns.len()).max(1);
        // Only full chunks repeat; the last chunk of a batch is built each time.
        if rows != per_statement {
            return self.sql(backend, rows);
        }
        let Ok(mut cache) = SQL_CACHE.lock() else {
            return self.sql(backend, rows);
        };
        cache
            .entry(key)
            .or_insert_with(|| self.sql(backend, rows))
            .clone()
    }

    fn sql(&self, backend: DbBackend, rows: usize) -> String {
        let width = self.columns.len();
        let mut sql = String::with_capacity(rows * width * 7 + 256 + self.conflict.len());
        sql += &format!(
            "INSERT INTO {} ({}) VALUES ",
            self.table,
            self.columns.join(", ")
        );
        let mut n = 0;
        for row in 0..rows {
            if row > 0 {
                sql.push(',');
            }
            sql.push('(');
            for column in 0..width {
                if column > 0 {
                    sql.push(',');
                }
                n += 1;
                match backend {
                    DbBackend::Postgres => {
                        sql.push('$');
                        sql.push_str(&n.to_string());
                    }
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
        }
        sql.push_str(&self.conflict);
        sql
    }
}

/// Rows for one table.
pub struct Rows {
    pub insert: Insert,
    pub rows: Vec<Vec<Value>>,
}

/// A legacy row that was not imported, and why.
#[derive(Debug, Clone)]
pub struct Reject {
    pub legacy_id: i64,
    pub reason: String,
    pub row: serde_json::Value,
    /// Money the legacy row counted as paid (for the reconciliation).
    pub paid: Option<Money>,
}

/// A legacy row folded into another (a duplicate account, a retried webhook, a refund).
#[derive(Debug, Clone)]
pub struct Merge {
    pub legacy_id: i64,
    pub into_id: String,
    pub reason: String,
    /// The part of the row's paid money that is not in the imported donations.
    pub paid: Option<Money>,
}

/// Everything one batch writes.
#[derive(Default)]
pub struct Batch {
    /// Into the legacy table's own domain database, in order, in the batch's transaction.
    pub primary: Vec<Rows>,
    /// Plain statements after the rows (refunds applied to earlier donations).
    pub primary_statements: Vec<Statement>,
    /// Into other domains' projections, written (idempotently) before the primary commit.
    pub secondary: Vec<(Domain, Rows)>,
    pub rejects: Vec<Reject>,
    /// Rejected changes to rows imported earlier: kept as imported, listed in the file.
    pub refused_updates: Vec<Reject>,
    pub merges: Vec<Merge>,
    /// Cleaning notes for the summary.
    pub notes: Vec<&'static str>,
}

impl Batch {
    pub fn reject(
        &mut self,
        row: &LegacyRow,
        columns: &[&str],
        reason: impl Into<String>,
        paid: Option<Money>,
    ) {
        self.rejects.push(Reject {
            legacy_id: row.id,
            reason: reason.into(),
            row: row.to_json(columns),
            paid,
        });
    }

    pub fn note(&mut self, note: &'static str) {
        self.notes.push(note);
    }

    pub fn push(&mut self, insert: &Insert, row: Vec<Value>) {
        match self
            .primary
            .iter_mut()
            .find(|r| r.insert.table == insert.table)
        {
            Some(rows) => rows.rows.push(row),
            None => self.primary.push(Rows {
                insert: insert.clone(),
                rows: vec![row],
            }),
        }
    }

    pub fn push_secondary(&mut self, domain: Domain, insert: &Insert, row: Vec<Value>) {
        match self
            .secondary
            .iter_mut()
            .find(|(d, r)| *d == domain && r.insert.table == insert.table)
        {
            Some((_, rows)) => rows.rows.push(row),
            None => self.secondary.push((
                domain,
                Rows {
                    insert: insert.clone(),
                    rows: vec![row],
                },
            )),
        }
    }
}

pub fn text(v: impl Into<String>) -> Value {
    Value::String(Some(v.into()))
}

pub fn opt_text(v: Option<String>) -> Value {
    Value::String(v)
}

pub fn int(v: i64) -> Value {
    Value::BigInt(Some(v))
}

pub fn opt_int32(v: Option<i32>) -> Value {
    Value::Int(v)
}

pub fn boolean(v: bool) -> Value {
    Value::Bool(Some(v))
}

pub fn time(v: DateTime<Utc>) -> Value {
    Value::ChronoDateTimeUtc(Some(v))
}

pub fn opt_time(v: Option<DateTime<Utc>>) -> Value {
    Value::ChronoDateTimeUtc(v)
}
