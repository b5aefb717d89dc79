//! Reading the legacy database: every table in id ranges of a fixed width, every value
//! as text (so a string where a number belongs is a value to judge, not a decoding error).

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

use rusqlite::types::ValueRef;

use crate::LegacyError;

/// Opens the file SeaORM's connection has open, read-only (`None` for an in-memory one).
async fn open_sqlite_reader(
    db: &DatabaseConnection,
) -> Result<Option<std::sync::Mutex<rusqlite::Connection>>, LegacyError> {
    let file = crate::sink::sqlite_file(db)
        .await
        .map_err(LegacyError::Source)?;
    let Some(file) = file else {
        return Ok(None);
    };
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let open_err = |err| LegacyError::Source(crate::sink::sqlite_err(err));
    let connection = rusqlite::Connection::open_with_flags(&file, flags).map_err(open_err)?;
    connection
        .busy_timeout(Duration::from_secs(30))
        .map_err(open_err)?;
    Ok(Some(std::sync::Mutex::new(connection)))
}

fn with_reader<T>(
    reader: &std::sync::Mutex<rusqlite::Connection>,
    table: &'static str,
    work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> Result<T, LegacyError> {
    let read_err = |message: String| LegacyError::Read {
        table,
        source: sea_orm::DbErr::Custom(message),
    };
    let connection = reader
        .lock()
        .map_err(|_| read_err("the SQLite reader was poisoned by a panic".to_owned()))?;
    work(&connection).map_err(|err| read_err(format!("SQLite: {err}")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

pub struct Source {
    db: DatabaseConnection,
    dialect: Dialect,
    /// A SQLite legacy file is read through rusqlite: values straight from SQLite's
    /// buffers, without a driver thread between (reading was a third of a run).
    sqlite: Option<std::sync::Mutex<rusqlite::Connection>>,
}

/// One legacy row: its id and its values as text, in the table's column order.
#[derive(Debug, Clone)]
pub struct LegacyRow {
    pub id: i64,
    pub values: Vec<Option<String>>,
}

impl LegacyRow {
    pub fn get(&self, index: usize) -> Option<&str> {
        self.values.get(index).and_then(|v| v.as_deref())
    }

    /// The row as a JSON object, for the reject file.
    pub fn to_json(&self, columns: &[&str]) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        object.insert("id".to_owned(), self.id.into());
        for (name, value) in columns.iter().zip(&self.values) {
            object.insert((*name).to_owned(), value.clone().into());
        }
        serde_json::Value::Object(object)
    }
}

impl Source {
    pub async fn connect(url: &str) -> Result<Self, LegacyError> {
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Dialect::Mysql
        } else {
            return Err(LegacyError::UnsupportedSource(
                gerak_actors::system::redact(url),
            ));
        };
        if dialect == Dialect::Mysql && !cfg!(feature = "mysql") {
            return Err(LegacyError::UnsupportedSource(
                "mysql:// (this build has no MySQL driver)".to_owned(),
            ));
        }
        let options = |url: &str| {
            let mut options = ConnectOptions::new(url);
            options
                .max_connections(2)
                .min_connections(1)
                .connect_timeout(Duration::from_secs(5))
                .acquire_timeout(Duration::from_secs(30))
                .sqlx_logging(false);
            if dialect == Dialect::Sqlite {
                // The legacy system is live: we only ever read it.
                options.map_sqlx_sqlite_opts(|opts| opts.read_only(true));
            }
            options
        };
        let db = match dialect {
            Dialect::Postgres => gerak_actors::db::connect_postgres(url, options).await,
            _ => Database::connect(options(url)).await,
        }
        .map_err(LegacyError::Source)?;
        let sqlite = match dialect {
            Dialect::Sqlite => open_sqlite_reader(&db).await?,
            _ => None,
        };
        Ok(Self {
            db,
            dialect,
            sqlite,
        })
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// The first id at or after `from`, if any.
    pub async fn next_id(
        &self,
        table: &'static str,
        from: i64,
    ) -> Result<Option<i64>, LegacyError> {
        let id = self.int("id");
        // Not `MIN(CAST(id …))`: the least of an expression is not found through the key,
        // so that read the rest of the table for every batch (a seventh of the importer's
        // thread at --scale 100).
        let sql = format!("SELECT {id} FROM {table} WHERE id >= {from} ORDER BY id LIMIT 1");
        if let Some(reader) = &self.sqlite {
            return with_reader(reader, table, |c| {
                use rusqlite::OptionalExtension;
                let first = c
                    .prepare_cached(&sql)?
                    .query_row([], |row| row.get::<_, Option<i64>>(0))
                    .optional()?;
                Ok(first.flatten())
            });
        }
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.backend(), sql))
            .await
            .map_err(|source| LegacyError::Read { table, source })?;
        Ok(row.and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten()))
    }

    /// Rows with `start <= id < end`, in id order. `columns` excludes `id`.
    pub async fn rows(
        &self,
        table: &'static str,
        columns: &[&str],
        start: i64,
        end: i64,
    ) -> Result<Vec<LegacyRow>, LegacyError> {
        let mut select = vec![self.int("id")];
        select.extend(columns.iter().map(|c| self.text(c)));
        let sql = format!(
            "SELECT {} FROM {table} WHERE id >= {start} AND id < {end} ORDER BY id",
            select.join(", ")
        );
        if let Some(reader) = &self.sqlite {
            return with_reader(reader, table, |c| {
                let mut statement = c.prepare_cached(&sql)?;
                let mut rows = statement.query([])?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let id: i64 = row.get(0)?;
                    let mut values = Vec::with_capacity(columns.len());
                    for index in 1..=columns.len() {
                        values.push(match row.get_ref(index)? {
                            ValueRef::Null => None,
                            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                                Some(String::from_utf8_lossy(bytes).into_owned())
                            }
                            ValueRef::Integer(n) => Some(n.to_string()),
                            ValueRef::Real(x) => Some(x.to_string()),
                        });
                    }
                    out.push(LegacyRow { id, values });
                }
                Ok(out)
            });
        }
        let rows = self
            .db
            .query_all_raw(Statement::from_string(self.backend(), sql))
            .await
            .map_err(|source| LegacyError::Read { table, source })?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row
                .try_get_by_index(0)
                .map_err(|source| LegacyError::Read { table, source })?;
            let mut values = Vec::with_capacity(columns.len());
            for index in 1..=columns.len() {
                values.push(self.value(&row, index));
            }
            out.push(LegacyRow { id, values });
        }
        Ok(out)
    }

    fn value(&self, row: &sea_orm::QueryResult, index: usize) -> Option<String> {
        if self.dialect == Dialect::Sqlite {
            // Bytes, not text: SQLite does not check that stored text is UTF-8.
            row.try_get_by_index::<Option<Vec<u8>>>(index)
                .ok()
                .flatten()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        } else {
            row.try_get_by_index::<Option<String>>(index).ok().flatten()
        }
    }

    fn int(&self, column: &str) -> String {
        match self.dialect {
            Dialect::Mysql => format!("CAST({column} AS SIGNED)"),
            _ => format!("CAST({column} AS BIGINT)"),
        }
    }

    fn text(&self, column: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("CAST({column} AS BLOB)"),
            Dialect::Postgres => format!("CAST({column} AS TEXT)"),
            Dialect::Mysql => format!("CAST({column} AS CHAR)"),
        }
    }
}
