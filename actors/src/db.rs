//! A domain's database: one writer and several readers on SQLite (WAL), one pool on
//! PostgreSQL. The URL decides; the domain code is the same.

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement,
};

use crate::{DomainError, runtime::Domain};

/// Readers on SQLite: WAL lets them run beside the single writer.
const SQLITE_READERS: u32 = 4;
/// Connections per domain on PostgreSQL unless configured (`GERAK_POSTGRES_POOL`).
pub const POSTGRES_POOL: u32 = 10;
/// WAL pages after which the SQLite writer checkpoints inside its own commit. The
/// checkpointer normally copies the WAL back long before; this bounds the WAL of a process
/// that runs none (migrations, tools).
const WRITER_AUTOCHECKPOINT_PAGES: u32 = 8192;
/// How often the checkpointer copies the WAL back into the database file. Small copies
/// often: the writer still syncs the WAL's header each time it starts the WAL over, and
/// that flush of the disk's cache waits behind the checkpoint's own (an off-CPU profile
/// showed it), so the bigger the copy the longer the writer waits. At 1,000 payments a
/// second, commit → event p99 was 3.7–4.2 ms every 50 ms, 4.4–5.0 every 100 ms, 8.3–9.1
/// every second and 8.5–9.4 with the writer checkpointing every 1,000 pages.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
/// How often at most the checkpointer looks at the WAL of a domain that writes nothing.
const CHECKPOINT_IDLE_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct DomainDb {
    pub domain: Domain,
    /// Use for queries that only read: on SQLite they never wait for the writer.
    pub read: DatabaseConnection,
    /// Use for everything that writes, including transactions that read first.
    pub write: DatabaseConnection,
}

impl DomainDb {
    pub async fn connect(domain: Domain, url: &str) -> Result<Self, DbErr> {
        Self::connect_with_pool(domain, url, POSTGRES_POOL).await
    }

    /// `postgres_pool`: connections this domain may hold on PostgreSQL (SQLite has one
    /// writer and a few readers, whatever it says).
    pub async fn connect_with_pool(
        domain: Domain,
        url: &str,
        postgres_pool: u32,
    ) -> Result<Self, DbErr> {
        if url.starts_with("sqlite:") {
            let write = connect_sqlite(url, 1, Some(WRITER_AUTOCHECKPOINT_PAGES)).await?;
            // The writer creates the file and switches it to WAL before readers open it.
            let read = connect_sqlite(url, SQLITE_READERS, None).await?;
            Ok(Self {
                domain,
                read,
                write,
            })
        } else {
            let pool = connect_postgres(url, |url| {
                let mut options = ConnectOptions::new(url);
                options
                    .max_connections(postgres_pool.max(1))
                    .min_connections(1)
                    .connect_timeout(Duration::from_secs(3))
                    .acquire_timeout(Duration::from_secs(3))
                    .sqlx_logging(false);
                options
            })
            .await?;
            Ok(Self {
                domain,
                read: pool.clone(),
                write: pool,
            })
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.write.get_database_backend()
    }

    /// Checks that both pools answer; used by readiness probes.
    pub async fn ping(&self) -> Result<(), DomainError> {
        let domain = self.domain;
        self.read
            .ping()
            .await
            .map_err(|e| DomainError::from_db(domain, e))?;
        self.write
            .ping()
            .await
            .map_err(|e| DomainError::from_db(domain, e))
    }

    pub fn map_err(&self, err: DbErr) -> DomainError {
        DomainError::from_db(self.domain, err)
    }

    /// Copies the WAL back into the database file beside the writer (SQLite only), for as
    /// long as the database is open. Left to the writer, a checkpoint runs inside the
    /// commit that crosses the threshold: that commit, and every write queued behind the
    /// single writer, waits for the copy and its two fsyncs. PASSIVE never waits for
    /// readers or the writer; the writer reuses the WAL from its start once it is copied.
    pub(crate) async fn checkpoint_loop(self) {
        if self.backend() != DbBackend::Sqlite {
            return;
        }
        let checkpoint =
            Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
        let mut wait = CHECKPOINT_EVERY;
        // (frames in the WAL, frames copied) as the last checkpoint left them.
        let mut last = None;
        loop {
            tokio::time::sleep(wait).await;
            if self.is_closed() {
                return;
            }
            match self.read.query_one_raw(checkpoint.clone()).await {
                Ok(row) => {
                    let frames = row.and_then(|row| {
                        Some((
                            row.try_get_by_index::<i64>(1).ok()?,
                            row.try_get_by_index::<i64>(2).ok()?,
                        ))
                    });
                    // Nothing written since: an idle domain is looked at less and less
                    // often (a look costs a round trip to a connection's thread).
                    wait = if frames.is_some() && frames == last {
                        (wait * 2).min(CHECKPOINT_IDLE_EVERY)
                    } else {
                        CHECKPOINT_EVERY
                    };
                    last = frames;
                }
                Err(_) if self.is_closed() => return,
                Err(err) => {
                    tracing::warn!(domain = %self.domain, error = %err, "checkpointing the WAL failed; next round");
                }
            }
        }
    }

    /// True once the domain is stopping (`Domains::stop` closed the pools): the loops
    /// that use them end instead of retrying.
    pub(crate) fn is_closed(&self) -> bool {
        match self.backend() {
            DbBackend::Postgres => self.write.get_postgres_connection_pool().is_closed(),
            DbBackend::Sqlite => self.write.get_sqlite_connection_pool().is_closed(),
            _ => false,
        }
    }
}

/// Connects to PostgreSQL with the options `options` makes for a URL. A URL whose host is
/// this machine and which chooses no `sslmode` is tried without TLS first, and as it
/// says (TLS preferred) only if the server refuses that: on loopback TLS protects nothing
/// (the bytes never leave the kernel), and encrypting them cost 15–20% of a legacy
/// import's time. (sqlx reads `sslmode=allow` as `disable`, with no second try.)
pub async fn connect_postgres(
    url: &str,
    options: impl Fn(&str) -> ConnectOptions,
) -> Result<DatabaseConnection, DbErr> {
    if let Some(plain) = loopback_without_tls(url) {
        match Database::connect(options(&plain)).await {
            Ok(db) => return Ok(db),
            Err(err) => tracing::debug!(
                error = %err,
                "a plain loopback connection to PostgreSQL failed; connecting as the URL says"
            ),
        }
    }
    Database::connect(options(url)).await
}

/// `url` with `sslmode=disable` when it is a PostgreSQL URL whose host is this machine
/// and which chooses no `sslmode` (nor a socket directory, where TLS never applies).
fn loopback_without_tls(url: &str) -> Option<String> {
    let mut parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql")
        || parsed
            .query_pairs()
            .any(|(key, _)| matches!(key.as_ref(), "sslmode" | "ssl-mode" | "host"))
    {
        return None;
    }
    let loopback = match parsed.host()? {
        // A `postgres:` URL's host is opaque to the url crate: addresses come as names.
        url::Host::Domain(name) => name
            .parse::<std::net::IpAddr>()
            .map_or(name.eq_ignore_ascii_case("localhost"), |ip| {
                ip.is_loopback()
            }),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if !loopback {
        return None;
    }
    parsed.query_pairs_mut().append_pair("sslmode", "disable");
    Some(parsed.into())
}

async fn connect_sqlite(
    url: &str,
    connections: u32,
    autocheckpoint_pages: Option<u32>,
) -> Result<DatabaseConnection, DbErr> {
    use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |opts| {
            let opts = opts
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            match autocheckpoint_pages {
                Some(pages) => opts.pragma("wal_autocheckpoint", pages.to_string()),
                None => opts,
            }
        });
    Database::connect(options).await
}

/// Which way a keyset page runs over time-ordered (UUIDv7) ids.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    NewestFirst,
    OldestFirst,
}

/// One page of rows of `E` matching `filter`, keyed by `id` (`after` is the last id of
/// the previous page): the rows, whether more follow, and how many match in all.
pub(crate) struct KeysetPage<M> {
    pub rows: Vec<M>,
    pub has_next_page: bool,
    pub total_count: u64,
}

impl DomainDb {
    pub(crate) async fn keyset_page<E>(
        &self,
        filter: sea_orm::Condition,
        id: E::Column,
        after: Option<String>,
        first: u64,
        order: Order,
    ) -> Result<KeysetPage<E::Model>, DomainError>
    where
        E: sea_orm::EntityTrait,
        E::Model: Send + Sync,
    {
        use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
        let total_count = E::find()
            .filter(filter.clone())
            .count(&self.read)
            .await
            .map_err(|e| self.map_err(e))?;
        let mut query = E::find().filter(filter);
        if let Some(after) = after {
            query = query.filter(match order {
                Order::NewestFirst => id.lt(after),
                Order::OldestFirst => id.gt(after),
            });
        }
        let query = match order {
            Order::NewestFirst => query.order_by_desc(id),
            Order::OldestFirst => query.order_by_asc(id),
        };
        let rows = query
            .limit(first + 1)
            .all(&self.read)
            .await
            .map_err(|e| self.map_err(e))?;
        Ok(KeysetPage::cut(rows, first, total_count))
    }
}

impl<M> KeysetPage<M> {
    /// The first `first` of `rows` (fetched one more than a page, to know if more follow).
    pub(crate) fn cut(mut rows: Vec<M>, first: u64, total_count: u64) -> Self {
        let has_next_page = rows.len() as u64 > first;
        rows.truncate(first as usize);
        Self {
            rows,
            has_next_page,
            total_count,
        }
    }
}

/// A migrated SQLite database of `domain` in a directory of its own, for unit tests; the
/// directory goes with it.
#[cfg(test)]
pub(crate) struct ScratchDb {
    pub db: DomainDb,
    dir: std::path::PathBuf,
    /// The PostgreSQL database made for this test, dropped with it.
    postgres: Option<String>,
}

#[cfg(test)]
impl ScratchDb {
    pub async fn open(domain: Domain) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "gerak-{}-{}",
            domain.name(),
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let url = format!("sqlite://{}/{}.db?mode=rwc", dir.display(), domain.name());
        let db = DomainDb::connect(domain, &url)
            .await
            .map_err(|e| e.to_string())?;
        crate::system::migrate(&db)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            db,
            dir,
            postgres: None,
        })
    }

    /// A fresh PostgreSQL database (`GERAK_TEST_POSTGRES_URL`, default the machine's
    /// own). None when PostgreSQL does not answer, after a notice; in CI (`CI=true`) that
    /// fails instead.
    pub async fn open_postgres(domain: Domain) -> Option<Self> {
        let admin = postgres_admin_url();
        let name = format!("gerak_scratch_{}", uuid::Uuid::now_v7().simple());
        let created = async {
            let server = Database::connect(admin.as_str()).await?;
            server
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
        };
        if let Err(err) = tokio::time::timeout(Duration::from_secs(3), created)
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !in_ci,
                "CI=true but PostgreSQL ({admin}) is not usable: {err}"
            );
            eprintln!("NOTICE: skipping the PostgreSQL half of a test: {err}");
            return None;
        }
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(base, _)| base);
        // The database exists: from here a failure is the test's, not a missing server.
        let db = DomainDb::connect(domain, &format!("{base}/{name}"))
            .await
            .unwrap_or_else(|e| panic!("connecting to the scratch database {name}: {e}"));
        crate::system::migrate(&db)
            .await
            .unwrap_or_else(|e| panic!("migrating the scratch database {name}: {e}"));
        Some(Self {
            db,
            dir: std::env::temp_dir().join(&name),
            postgres: Some(name),
        })
    }
}

#[cfg(test)]
fn postgres_admin_url() -> String {
    std::env::var("GERAK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

#[cfg(test)]
impl Drop for ScratchDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.postgres.take() {
            // Drop runs inside the test's runtime: the DROP gets a thread and runtime of
            // its own (FORCE ends the test's pooled connections).
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    if let Ok(server) = Database::connect(postgres_admin_url()).await {
                        let _ = server
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                });
                Ok::<_, std::io::Error>(())
            })
            .join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_postgres_urls_that_choose_no_tls_mode_go_without_it() {
        for (url, plain) in [
            (
                "postgres://postgres@127.0.0.1:5432/gerak_users",
                Some("postgres://postgres@127.0.0.1:5432/gerak_users?sslmode=disable"),
            ),
            (
                "postgresql://u:p%40ss@localhost/db?application_name=gerak",
                Some("postgresql://u:p%40ss@localhost/db?application_name=gerak&sslmode=disable"),
            ),
            (
                "postgres://u@[::1]:5433/db",
                Some("postgres://u@[::1]:5433/db?sslmode=disable"),
            ),
            ("postgres://u@127.0.0.1/db?sslmode=require", None),
            ("postgres://u@127.0.0.1/db?ssl-mode=verify-full", None),
            ("postgres://u@localhost/db?host=/var/run/postgresql", None),
            ("postgres://u@db.example.com/db", None),
            ("postgres://u@10.0.0.5/db", None),
            ("sqlite://data/users.db?mode=rwc", None),
        ] {
            assert_eq!(loopback_without_tls(url).as_deref(), plain, "{url}");
        }
    }

    /// One number a PRAGMA answers.
    async fn pragma(db: &DomainDb, name: &str) -> i64 {
        let statement = Statement::from_string(DbBackend::Sqlite, format!("PRAGMA {name}"));
        let row = db.read.query_one_raw(statement).await.unwrap().unwrap();
        row.try_get_by_index(0).unwrap()
    }

    /// The database file's length, and its length once every page is in it.
    async fn file_and_pages(scratch: &ScratchDb) -> (u64, u64) {
        let file = scratch.dir.join(format!("{}.db", scratch.db.domain.name()));
        let length = std::fs::metadata(file).unwrap().len();
        let pages =
            pragma(&scratch.db, "page_count").await * pragma(&scratch.db, "page_size").await;
        (length, pages as u64)
    }

    #[tokio::test]
    async fn the_checkpointer_copies_the_wal_back_beside_the_writer() {
        let scratch = ScratchDb::open(Domain::Reports).await.unwrap();
        // About 500 pages: far below the writer's own threshold, so they stay in the WAL.
        scratch
            .db
            .write
            .execute_unprepared(
                "CREATE TABLE bulk (data BLOB); \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
                 INSERT INTO bulk SELECT randomblob(3000) FROM n;",
            )
            .await
            .unwrap();
        let (length, pages) = file_and_pages(&scratch).await;
        assert!(
            length < pages,
            "the writer checkpointed by itself ({length} of {pages} bytes)"
        );

        let checkpointer = tokio::spawn(scratch.db.clone().checkpoint_loop());
        let mut copied = false;
        for _ in 0..100 {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            let (length, pages) = file_and_pages(&scratch).await;
            if length >= pages {
                copied = true;
                break;
            }
        }
        checkpointer.abort();
        assert!(
            copied,
            "the WAL was never copied back into the database file"
        );
    }
}
