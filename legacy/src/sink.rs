//! Where a batch is written: one transaction on one domain database.
//!
//! SQLite targets are written through rusqlite on a connection of the importer's own:
//! single-row prepared INSERTs bound straight from the batch's values. SQLite runs a
//! single-row INSERT without a statement journal (a multi-row one copies every page it
//! touches into one first), and nothing is copied through a driver thread. PostgreSQL
//! targets get one `INSERT … SELECT FROM UNNEST($1::text[], …)` per table and batch: one
//! plan, one round trip, the values bound as typed arrays instead of thousands of
//! parameters.

use std::sync::{Arc, Mutex};

use chrono::SecondsFormat;
use rusqlite::types::{ToSqlOutput, ValueRef};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement, Value,
    sqlx,
};

use crate::{
    batch::Insert,
    state::{dollar_placeholders, placeholders},
};

/// A SQLite target opened for the import's writes.
pub struct SqliteTarget {
    connection: Mutex<rusqlite::Connection>,
}

impl SqliteTarget {
    /// Opens the file SeaORM's connection `db` has open (`None` for an in-memory database,
    /// which only that connection can see). Same settings as the server's writer (WAL,
    /// NORMAL sync, busy timeout), with a page cache large enough for the indexes the
    /// import fills: SQLite's default 2 MB makes every insert into a large index a read.
    /// The WAL is checkpointed every 128 MB instead of every 4 MB: a page the import
    /// writes again and again (an index's) is copied into the file once per checkpoint,
    /// and checkpoints were a seventh of the import's time.
    pub async fn beside(db: &DatabaseConnection) -> Result<Option<Self>, DbErr> {
        if db.get_database_backend() != DbBackend::Sqlite {
            return Ok(None);
        }
        let Some(file) = sqlite_file(db).await? else {
            return Ok(None);
        };
        let connection = rusqlite::Connection::open(&file).map_err(sqlite_err)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA cache_size = -524288; PRAGMA temp_store = MEMORY; \
                 PRAGMA wal_autocheckpoint = 32768;",
            )
            .map_err(sqlite_err)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sqlite_err)?;
        connection.set_prepared_statement_cache_capacity(64);
        Ok(Some(Self {
            connection: Mutex::new(connection),
        }))
    }

    fn with<T>(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbErr> {
        let connection = self
            .connection
            .lock()
            .map_err(|_| DbErr::Custom("the SQLite writer was poisoned by a panic".to_owned()))?;
        work(&connection).map_err(sqlite_err)
    }
}

/// The file a SQLite connection has open (`None` for an in-memory database).
pub(crate) async fn sqlite_file(db: &DatabaseConnection) -> Result<Option<String>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA database_list".to_owned(),
        ))
        .await?;
    Ok(rows.iter().find_map(|row| {
        let name: String = row.try_get_by_index(1).ok()?;
        let file: String = row.try_get_by_index(2).ok()?;
        (name == "main" && !file.is_empty()).then_some(file)
    }))
}

pub(crate) fn sqlite_err(err: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("SQLite: {err}"))
}

/// Rows per piece of a `COPY`.
const COPY_PIECE_ROWS: usize = 1_000;

/// One open transaction on a domain database.
pub enum Txn<'a> {
    Orm(DatabaseTransaction),
    Sqlite(SqliteTxn<'a>),
    Postgres(Box<sqlx::Transaction<'static, sqlx::Postgres>>),
}

/// A transaction on a [`SqliteTarget`]: rolled back when dropped uncommitted. Its work
/// runs on tokio's blocking threads, so that the domains' files are written in parallel
/// and the importer's own thread goes on preparing.
pub struct SqliteTxn<'a> {
    target: Arc<SqliteTarget>,
    open: bool,
    _borrow: std::marker::PhantomData<&'a ()>,
}

impl SqliteTxn<'_> {
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, DbErr> {
        let target = Arc::clone(&self.target);
        tokio::task::spawn_blocking(move || target.with(work))
            .await
            .map_err(|err| DbErr::Custom(format!("the SQLite writer stopped: {err}")))?
    }

    /// Runs the single-row INSERT `sql` once per row.
    async fn insert_rows(
        &self,
        sql: String,
        rows: Vec<Vec<Value>>,
    ) -> Result<Vec<Vec<Value>>, DbErr> {
        if rows.is_empty() {
            return Ok(rows);
        }
        self.run(move |c| {
            let mut statement = c.prepare_cached(&sql)?;
            for row in &rows {
                statement.execute(rusqlite::params_from_iter(row.iter().map(Bind)))?;
            }
            Ok(rows)
        })
        .await
    }
}

impl<'a> Txn<'a> {
    pub async fn begin(
        db: &DatabaseConnection,
        sqlite: Option<&Arc<SqliteTarget>>,
    ) -> Result<Txn<'a>, DbErr> {
        use sea_orm::TransactionTrait;
        match sqlite {
            Some(target) => {
                let mut txn = SqliteTxn {
                    target: Arc::clone(target),
                    open: false,
                    _borrow: std::marker::PhantomData,
                };
                txn.run(|c| c.execute_batch("BEGIN IMMEDIATE")).await?;
                txn.open = true;
                Ok(Txn::Sqlite(txn))
            }
            None if db.get_database_backend() == DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                let txn = pool.begin().await.map_err(pg_err)?;
                Ok(Txn::Postgres(Box::new(txn)))
            }
            None => Ok(Txn::Orm(db.begin().await?)),
        }
    }

    pub async fn insert(&mut self, insert: &Insert, rows: Vec<Vec<Value>>) -> Result<(), DbErr> {
        match self {
            Txn::Postgres(txn) => {
                if rows.is_empty() {
                    return Ok(());
                }
                let columns = Columns::of(insert.columns.len(), rows)?;
                // Table and column names are the importer's own constants; every value
                // is a bound parameter.
                let sql = sqlx::AssertSqlSafe(insert.unnest_sql(&columns.casts()));
                columns
                    .bind(sqlx::query(sql))
                    .execute(&mut ***txn)
                    .await
                    .map(|_| ())
                    .map_err(pg_err)
            }
            Txn::Orm(txn) => insert.write(txn, rows).await,
            Txn::Sqlite(txn) => txn
                .insert_rows(insert.single_row_sql(), rows)
                .await
                .map(drop),
        }
    }

    /// Writes rows that cannot be in the table yet (see [`Insert::batch_owned`]): with
    /// `COPY … FROM STDIN (FORMAT binary)` on PostgreSQL, with an INSERT without conflict
    /// clause on SQLite (the key it would name may be deferred), as [`Txn::insert`]
    /// elsewhere. Binary rather than CSV: the server takes each value as it is stored
    /// (its type's receive function still checks it, lengths of `varchar(n)` included)
    /// instead of parsing text, and times are not formatted and parsed again: at
    /// --scale 100 that is 6.7 million timestamps. Gives the rows back (none where the
    /// driver took them), for the thread that made them to free.
    pub async fn insert_new(
        &mut self,
        insert: &Insert,
        rows: Vec<Vec<Value>>,
    ) -> Result<Vec<Vec<Value>>, DbErr> {
        if let Txn::Sqlite(txn) = self {
            return txn.insert_rows(insert.single_new_row_sql(), rows).await;
        }
        let Txn::Postgres(txn) = self else {
            return self.insert(insert, rows).await.map(|()| Vec::new());
        };
        if rows.is_empty() {
            return Ok(rows);
        }
        let mut copy = txn.copy_in_raw(&insert.copy_sql()).await.map_err(pg_err)?;
        // Sent in pieces, so that the server stores one while the next is encoded.
        let pieces = rows.len().div_ceil(COPY_PIECE_ROWS);
        for (i, piece) in rows.chunks(COPY_PIECE_ROWS).enumerate() {
            let mut data = Vec::with_capacity(piece.len() * insert.columns.len() * 24 + 32);
            if i == 0 {
                data.extend_from_slice(COPY_BINARY_HEADER);
            }
            let sent = match binary_rows(piece, &mut data) {
                Ok(()) => {
                    if i + 1 == pieces {
                        data.extend_from_slice(&COPY_BINARY_TRAILER);
                    }
                    copy.send(data).await.map_err(pg_err)
                }
                Err(err) => Err(err),
            };
            if let Err(err) = sent {
                // The connection is usable again once the COPY is ended; the transaction
                // is rolled back by the caller.
                let _ = copy.abort(err.to_string()).await;
                return Err(err);
            }
        }
        copy.finish().await.map_err(pg_err)?;
        Ok(rows)
    }

    /// Runs `sql` (with `?` placeholders) with `values`.
    pub async fn execute(&mut self, sql: &str, values: Vec<Value>) -> Result<(), DbErr> {
        match self {
            Txn::Postgres(txn) => {
                // The importer's own SQL text; every value is a bound parameter.
                let sql = sqlx::AssertSqlSafe(dollar_placeholders(sql));
                let mut query = sqlx::query(sql);
                for value in values {
                    query = bind_one(query, value)?;
                }
                query.execute(&mut ***txn).await.map(|_| ()).map_err(pg_err)
            }
            Txn::Orm(txn) => {
                let sql = placeholders(txn, sql);
                txn.execute_raw(Statement::from_sql_and_values(
                    txn.get_database_backend(),
                    sql,
                    values,
                ))
                .await
                .map(|_| ())
            }
            Txn::Sqlite(txn) => {
                let sql = sql.to_owned();
                txn.run(move |c| {
                    c.prepare_cached(&sql)?
                        .execute(rusqlite::params_from_iter(values.iter().map(Bind)))
                        .map(|_| ())
                })
                .await
            }
        }
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        match self {
            Txn::Orm(txn) => txn.commit().await,
            Txn::Postgres(txn) => txn.commit().await.map_err(pg_err),
            Txn::Sqlite(mut txn) => {
                txn.run(|c| c.execute_batch("COMMIT")).await?;
                txn.open = false;
                Ok(())
            }
        }
    }
}

impl Drop for SqliteTxn<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(err) = self.target.with(|c| c.execute_batch("ROLLBACK"))
        {
            tracing::warn!(error = %err, "rolling back an import batch failed");
        }
    }
}

/// A SeaORM value bound to a rusqlite statement, encoded as sqlx encodes it for SQLite
/// (the server reads these rows through sqlx): booleans as 0/1, times as RFC 3339.
struct Bind<'v>(&'v Value);

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as Owned;
        Ok(match self.0 {
            Value::String(Some(text)) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::BigInt(Some(n)) => ToSqlOutput::Owned(Owned::Integer(*n)),
            Value::Int(Some(n)) => ToSqlOutput::Owned(Owned::Integer(i64::from(*n))),
            Value::Bool(Some(b)) => ToSqlOutput::Owned(Owned::Integer(i64::from(*b))),
            Value::ChronoDateTimeUtc(Some(at)) => ToSqlOutput::Owned(Owned::Text(
                at.to_rfc3339_opts(SecondsFormat::AutoSi, false),
            )),
            Value::String(None)
            | Value::BigInt(None)
            | Value::Int(None)
            | Value::Bool(None)
            | Value::ChronoDateTimeUtc(None) => ToSqlOutput::Owned(Owned::Null),
            other => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("the importer does not write values like {other:?}").into(),
                ));
            }
        })
    }
}

/// The start of a binary `COPY`: its signature, flags (none) and header extension (none).
const COPY_BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The end of a binary `COPY`: a row of -1 fields.
const COPY_BINARY_TRAILER: [u8; 2] = (-1i16).to_be_bytes();
/// PostgreSQL's epoch (2000-01-01 UTC) in microseconds after the Unix one.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Rows in `COPY`'s binary format, appended to `out`: per row its field count, per field
/// its length (-1 for NULL) and its bytes as the column's type receives them: text as
/// UTF-8, integers and booleans big-endian, times as microseconds since 2000.
fn binary_rows(rows: &[Vec<Value>], out: &mut Vec<u8>) -> Result<(), DbErr> {
    fn field(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), DbErr> {
        let length = i32::try_from(bytes.len())
            .map_err(|_| DbErr::Custom(format!("a value of {} bytes", bytes.len())))?;
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(bytes);
        Ok(())
    }
    for row in rows {
        let fields = i16::try_from(row.len())
            .map_err(|_| DbErr::Custom(format!("a row of {} values", row.len())))?;
        out.extend_from_slice(&fields.to_be_bytes());
        for value in row {
            match value {
                Value::String(Some(text)) => field(out, text.as_bytes())?,
                Value::BigInt(Some(n)) => field(out, &n.to_be_bytes())?,
                Value::Int(Some(n)) => field(out, &n.to_be_bytes())?,
                Value::Bool(Some(b)) => field(out, &[u8::from(*b)])?,
                Value::ChronoDateTimeUtc(Some(at)) => field(
                    out,
                    &(at.timestamp_micros() - POSTGRES_EPOCH_MICROS).to_be_bytes(),
                )?,
                Value::String(None)
                | Value::BigInt(None)
                | Value::Int(None)
                | Value::Bool(None)
                | Value::ChronoDateTimeUtc(None) => out.extend_from_slice(&(-1i32).to_be_bytes()),
                other => return Err(unsupported(other)),
            }
        }
    }
    Ok(())
}

fn pg_err(err: sqlx::Error) -> DbErr {
    DbErr::Custom(format!("PostgreSQL: {err}"))
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// The rows of one INSERT turned into one typed array per column (the type comes from
/// the values' variants, which are typed even when NULL).
enum Column {
    Text(Vec<Option<String>>),
    BigInt(Vec<Option<i64>>),
    Int(Vec<Option<i32>>),
    Bool(Vec<Option<bool>>),
    Time(Vec<Option<chrono::DateTime<chrono::Utc>>>),
}

struct Columns(Vec<Column>);

impl Columns {
    fn of(width: usize, rows: Vec<Vec<Value>>) -> Result<Self, DbErr> {
        let Some(first) = rows.first() else {
            return Ok(Self(Vec::new()));
        };
        let mut columns: Vec<Column> = first
            .iter()
            .take(width)
            .map(|value| match value {
                Value::BigInt(_) => Ok(Column::BigInt(Vec::with_capacity(rows.len()))),
                Value::Int(_) => Ok(Column::Int(Vec::with_capacity(rows.len()))),
                Value::Bool(_) => Ok(Column::Bool(Vec::with_capacity(rows.len()))),
                Value::ChronoDateTimeUtc(_) => Ok(Column::Time(Vec::with_capacity(rows.len()))),
                Value::String(_) => Ok(Column::Text(Vec::with_capacity(rows.len()))),
                other => Err(unsupported(other)),
            })
            .collect::<Result<_, _>>()?;
        for row in rows {
            if row.len() != columns.len() {
                return Err(DbErr::Custom(format!(
                    "a row of {} values for {} columns",
                    row.len(),
                    columns.len()
                )));
            }
            for (column, value) in columns.iter_mut().zip(row) {
                match (column, value) {
                    (Column::Text(out), Value::String(v)) => out.push(v),
                    (Column::BigInt(out), Value::BigInt(v)) => out.push(v),
                    (Column::Int(out), Value::Int(v)) => out.push(v),
                    (Column::Bool(out), Value::Bool(v)) => out.push(v),
                    (Column::Time(out), Value::ChronoDateTimeUtc(v)) => out.push(v),
                    (_, other) => {
                        return Err(DbErr::Custom(format!(
                            "a column mixes value types: {other:?}"
                        )));
                    }
                }
            }
        }
        Ok(Self(columns))
    }

    fn casts(&self) -> Vec<&'static str> {
        self.0
            .iter()
            .map(|column| match column {
                Column::Text(_) => "text[]",
                Column::BigInt(_) => "int8[]",
                Column::Int(_) => "int4[]",
                Column::Bool(_) => "bool[]",
                Column::Time(_) => "timestamptz[]",
            })
            .collect()
    }

    fn bind(self, mut query: PgQuery<'_>) -> PgQuery<'_> {
        for column in self.0 {
            query = match column {
                Column::Text(v) => query.bind(v),
                Column::BigInt(v) => query.bind(v),
                Column::Int(v) => query.bind(v),
                Column::Bool(v) => query.bind(v),
                Column::Time(v) => query.bind(v),
            };
        }
        query
    }
}

fn bind_one(query: PgQuery<'_>, value: Value) -> Result<PgQuery<'_>, DbErr> {
    Ok(match value {
        Value::String(v) => query.bind(v),
        Value::BigInt(v) => query.bind(v),
        Value::Int(v) => query.bind(v),
        Value::Bool(v) => query.bind(v),
        Value::ChronoDateTimeUtc(v) => query.bind(v),
        other => return Err(unsupported(&other)),
    })
}

fn unsupported(value: &Value) -> DbErr {
    DbErr::Custom(format!("the importer does not write values like {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_are_in_postgres_binary_format() {
        let at = chrono::DateTime::parse_from_rfc3339("2000-01-01T00:00:01.000002Z")
            .unwrap()
            .to_utc();
        let rows = vec![vec![
            Value::from("PAY-\"1\",a"),
            Value::String(None),
            Value::BigInt(Some(-2)),
            Value::Int(Some(7)),
            Value::Bool(Some(true)),
            Value::ChronoDateTimeUtc(Some(at)),
        ]];
        let mut out = Vec::new();
        binary_rows(&rows, &mut out).unwrap();
        let mut expected = vec![0, 6];
        expected.extend_from_slice(&[0, 0, 0, 9]);
        expected.extend_from_slice(b"PAY-\"1\",a");
        expected.extend_from_slice(&[0xff; 4]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        expected.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 7]);
        expected.extend_from_slice(&[0, 0, 0, 1, 1]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x42]);
        assert_eq!(out, expected);
        assert_eq!(COPY_BINARY_HEADER.len(), 19);
        assert!(binary_rows(&[vec![Value::Double(Some(1.5))]], &mut out).is_err());
    }
}
