//! The legacy import (`gerak import-legacy`): reads the monolith's database and writes the
//! five domain databases, cleaning what years of production left in it. Every legacy row
//! is imported, merged into another (with the reason) or rejected (with the reason); the
//! summary accounts for every row and every rupiah. See docs/legacy-import.md.
//!
//! Shape of a run: the tables in dependency order (users, campaigns, challenges,
//! challenge_participants, donations, reports); each read in id ranges of `batch_size`
//! ids; a range whose fingerprint matches its checkpoint is skipped (nothing changed since
//! the last run), any other is transformed and written: the other domains' projection rows
//! first (idempotent upserts), then the rows, rejects, merges and checkpoint in one
//! transaction of the table's own domain database. Then the projections that are sums
//! (campaign totals, leaderboard, dashboard totals) are recomputed, and the summary is
//! built from the end state of the databases, so it is right however many runs it took.

mod batch;
mod clean;
mod error;
mod finish;
mod indexes;
mod sink;
mod source;
mod state;
mod tables;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::PathBuf,
};

use gerak_actors::{Domain, DomainUrls, db::DomainDb, money::Currency};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

pub use error::LegacyError;
pub use finish::{MoneyLine, Summary, TableLine};

use crate::{
    batch::Batch,
    sink::{SqliteTarget, Txn},
    source::Source,
    tables::LegacyTable,
};

/// What to import from where.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The legacy database: `sqlite:…`, `postgres://…` or `mysql://…`.
    pub source_url: String,
    /// The five domain databases to write.
    pub targets: DomainUrls,
    /// JSON lines, one per rejected row (rewritten complete at the end of every run).
    pub reject_file: PathBuf,
    /// The full report: summary, merges, campaigns whose legacy total drifted.
    pub report_file: PathBuf,
    /// Legacy ids per batch (and per checkpoint).
    pub batch_size: i64,
    /// Stop after this many written batches, as if killed mid-batch (tests and drills).
    pub stop_after_batches: Option<u64>,
}

impl ImportOptions {
    pub fn new(source_url: impl Into<String>, targets: DomainUrls) -> Self {
        Self {
            source_url: source_url.into(),
            targets,
            reject_file: PathBuf::from("legacy-import-rejects.jsonl"),
            report_file: PathBuf::from("legacy-import-report.json"),
            batch_size: 20_000,
            stop_after_batches: None,
        }
    }
}

/// Runs an import (or the next catch-up run) and returns its summary.
pub async fn import(options: ImportOptions) -> Result<Summary, LegacyError> {
    let started = std::time::Instant::now();
    gerak_actors::migrate_all(&options.targets).await?;
    let source = Source::connect(&options.source_url).await?;
    let mut importer = Importer::connect(options, source).await?;
    importer.load_state().await?;
    let deferred = importer.defer_indexes().await?;
    if deferred > 0 {
        tracing::info!(
            deferred,
            "first import: secondary indexes deferred to the end of the load"
        );
    }
    importer.run::<tables::users::Users>().await?;
    importer.run::<tables::campaigns::Campaigns>().await?;
    importer.run::<tables::challenges::Challenges>().await?;
    importer.run::<tables::participants::Participants>().await?;
    importer.run::<tables::donations::Donations>().await?;
    importer.run::<tables::reports::Reports>().await?;
    let indexes = std::time::Instant::now();
    let built = importer.build_deferred_indexes().await?;
    if built > 0 {
        tracing::info!(
            built,
            seconds = indexes.elapsed().as_secs_f64(),
            "deferred indexes built"
        );
    }
    let recompute = std::time::Instant::now();
    importer.recompute_projections().await?;
    tracing::info!(
        seconds = recompute.elapsed().as_secs_f64(),
        "projections recomputed"
    );
    importer.summarize(started.elapsed()).await
}

#[derive(Debug, Clone, Copy)]
struct CampaignRef {
    id: Uuid,
    organizer: Uuid,
    currency: Currency,
}

#[derive(Debug, Clone, Copy)]
struct ChallengeRef {
    id: Uuid,
    campaign: Uuid,
    organizer: Uuid,
}

#[derive(Debug, Clone, Copy)]
struct ParticipationRef {
    id: Uuid,
    user: Uuid,
    challenge: Uuid,
}

/// One writer on a SQLite target, with a page cache large enough for the indexes the
/// import fills (SQLite's default 2 MB makes every insert into a large index a read from
/// the file), as the server's own writer otherwise (WAL, NORMAL sync, busy timeout).
async fn connect_sqlite_target(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    use std::time::Duration;

    use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
    let mut options = sea_orm::ConnectOptions::new(url);
    options
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .pragma("cache_size", "-524288")
                .pragma("temp_store", "memory")
        });
    sea_orm::Database::connect(options).await
}

/// The import's working state: connections, the legacy-id → new-id maps (loaded from the
/// targets at the start, so a resumed run continues where the last one stopped), the
/// uniqueness the targets enforce, and this run's counters.
pub(crate) struct Importer {
    options: ImportOptions,
    source: Source,
    targets: Vec<(Domain, DatabaseConnection)>,
    /// The importer's own writer on each SQLite target (same order as `targets`).
    sqlite: Vec<Option<std::sync::Arc<SqliteTarget>>>,
    users: HashMap<i64, Uuid>,
    email_keys: HashMap<String, Uuid>,
    campaigns: HashMap<i64, CampaignRef>,
    slugs: HashSet<String>,
    challenges: HashMap<i64, ChallengeRef>,
    participations: HashMap<i64, ParticipationRef>,
    pairs: HashMap<(Uuid, Uuid), Uuid>,
    matched_participations: HashSet<Uuid>,
    open_reports: HashSet<(Uuid, &'static str, Uuid)>,
    /// Legacy rows merged before, by table: they stay merged.
    merged: HashSet<(&'static str, i64)>,
    /// Legacy paid money per currency, from every donation row read this run.
    legacy_paid: BTreeMap<&'static str, i64>,
    /// Paid rows whose amount or currency could not be read (rejected, money unknown).
    unreadable_paid_rows: u64,
    /// The monolith's own `raised_amount` per legacy campaign, for the drift list.
    legacy_raised: HashMap<i64, i64>,
    read: BTreeMap<&'static str, u64>,
    notes: BTreeMap<&'static str, u64>,
    batches_written: u64,
    batches_unchanged: u64,
}

impl Importer {
    async fn connect(options: ImportOptions, source: Source) -> Result<Self, LegacyError> {
        let mut targets = Vec::new();
        let mut sqlite_targets = Vec::new();
        for domain in Domain::ALL {
            let url = options.targets.get(domain);
            let connected = if url.starts_with("sqlite:") {
                connect_sqlite_target(url).await
            } else {
                DomainDb::connect(domain, url).await.map(|db| db.write)
            };
            let db = connected.map_err(|source| LegacyError::Write {
                domain: domain.name(),
                source,
            })?;
            let sqlite = SqliteTarget::beside(&db)
                .await
                .map_err(Self::write_err(domain))?;
            targets.push((domain, db));
            sqlite_targets.push(sqlite.map(std::sync::Arc::new));
        }
        Ok(Self {
            options,
            source,
            targets,
            sqlite: sqlite_targets,
            users: HashMap::new(),
            email_keys: HashMap::new(),
            campaigns: HashMap::new(),
            slugs: HashSet::new(),
            challenges: HashMap::new(),
            participations: HashMap::new(),
            pairs: HashMap::new(),
            matched_participations: HashSet::new(),
            open_reports: HashSet::new(),
            merged: HashSet::new(),
            legacy_paid: BTreeMap::new(),
            unreadable_paid_rows: 0,
            legacy_raised: HashMap::new(),
            read: BTreeMap::new(),
            notes: BTreeMap::new(),
            batches_written: 0,
            batches_unchanged: 0,
        })
    }

    fn db(&self, domain: Domain) -> &DatabaseConnection {
        // Every domain is connected in `connect`; the index is the domain's place in ALL.
        let index = Domain::ALL.iter().position(|d| *d == domain).unwrap_or(0);
        &self.targets[index].1
    }

    /// A transaction on `domain`'s database, through the importer's own SQLite writer
    /// where the database is a SQLite file.
    async fn begin(&self, domain: Domain) -> Result<Txn<'_>, LegacyError> {
        let index = Domain::ALL.iter().position(|d| *d == domain).unwrap_or(0);
        Txn::begin(&self.targets[index].1, self.sqlite[index].as_ref())
            .await
            .map_err(Self::write_err(domain))
    }

    fn write_err(domain: Domain) -> impl Fn(sea_orm::DbErr) -> LegacyError {
        move |source| LegacyError::Write {
            domain: domain.name(),
            source,
        }
    }

    /// One legacy table, batch by batch.
    async fn run<T: LegacyTable>(&mut self) -> Result<(), LegacyError> {
        let started = std::time::Instant::now();
        let size = self.options.batch_size.max(1);
        let primary = T::DOMAIN;
        let done = state::checkpoints(self.db(primary), T::NAME)
            .await
            .map_err(Self::write_err(primary))?;
        let mut next = self.source.next_id(T::NAME, i64::MIN).await?;
        while let Some(first_id) = next {
            let start = first_id.div_euclid(size) * size;
            let end = start.saturating_add(size);
            let rows = self.source.rows(T::NAME, T::COLUMNS, start, end).await?;
            *self.read.entry(T::NAME).or_default() += rows.len() as u64;
            T::observe(self, &rows);
            let fingerprint = state::fingerprint(&rows);
            let previous = done.get(&start).copied();
            if previous == Some(fingerprint) {
                self.batches_unchanged += 1;
            } else {
                let batch = T::prepare(self, &rows, previous.is_some()).await?;
                self.write_batch::<T>(batch, start, end, rows.len(), fingerprint)
                    .await?;
            }
            next = self.source.next_id(T::NAME, end).await?;
        }
        tracing::info!(
            table = T::NAME,
            rows = self.read.get(T::NAME).copied().unwrap_or(0),
            seconds = started.elapsed().as_secs_f64(),
            "legacy table read and written"
        );
        Ok(())
    }

    async fn write_batch<T: LegacyTable>(
        &mut self,
        batch: Batch,
        start: i64,
        end: i64,
        row_count: usize,
        fingerprint: u64,
    ) -> Result<(), LegacyError> {
        for note in &batch.notes {
            *self.notes.entry(note).or_default() += 1;
        }
        // The projections other domains keep, one transaction per domain, written while
        // the primary transaction fills (on PostgreSQL each is its own server process, so
        // the domains are written in parallel); the primary commits only after them, so
        // a batch whose checkpoint is committed always has its projections.
        let mut secondary: Vec<(Domain, Vec<batch::Rows>)> = Vec::new();
        for (domain, rows) in batch.secondary {
            match secondary.iter_mut().find(|(d, _)| *d == domain) {
                Some((_, list)) => list.push(rows),
                None => secondary.push((domain, vec![rows])),
            }
        }
        let this = &*self;
        let projections =
            futures::future::try_join_all(secondary.into_iter().map(|(domain, list)| async move {
                let err = Self::write_err(domain);
                let mut txn = this.begin(domain).await?;
                for rows in list {
                    txn.insert(&rows.insert, rows.rows).await.map_err(&err)?;
                }
                txn.commit().await.map_err(&err)
            }));
        let domain = T::DOMAIN;
        let err = Self::write_err(domain);
        let primary = async {
            let mut txn = this.begin(domain).await?;
            for rows in batch.primary {
                txn.insert(&rows.insert, rows.rows).await.map_err(&err)?;
            }
            for statement in batch.primary_statements {
                let values = statement.values.map(|v| v.0).unwrap_or_default();
                txn.execute(&statement.sql, values).await.map_err(&err)?;
            }
            state::record_batch(
                &mut txn,
                T::NAME,
                start,
                end,
                row_count,
                fingerprint,
                &batch.rejects,
                &batch.refused_updates,
                &batch.merges,
            )
            .await
            .map_err(&err)?;
            Ok::<_, LegacyError>(txn)
        };
        let (projections, txn) = futures::future::join(projections, primary).await;
        projections?;
        let txn = txn?;
        if self
            .options
            .stop_after_batches
            .is_some_and(|limit| self.batches_written >= limit)
        {
            // As if killed here: the projections of this batch are committed, its rows and
            // checkpoint are not (dropped, so rolled back). The next run must redo it
            // without counting anything twice.
            drop(txn);
            return Err(LegacyError::Interrupted(self.batches_written));
        }
        txn.commit().await.map_err(&err)?;
        for merge in &batch.merges {
            self.merged.insert((T::NAME, merge.legacy_id));
        }
        self.batches_written += 1;
        Ok(())
    }

    /// The maps a resumed or catch-up run needs, from what earlier runs wrote.
    async fn load_state(&mut self) -> Result<(), LegacyError> {
        state::load(self).await
    }
}
