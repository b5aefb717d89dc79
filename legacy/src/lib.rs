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
mod writer;

use std::{collections::BTreeMap, path::PathBuf};

use futures::FutureExt;
use gerak_actors::{Domain, DomainUrls, db::DomainDb, money::Currency};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

pub use error::LegacyError;
pub use finish::{MoneyLine, Summary, TableLine};

use crate::{
    batch::Batch,
    sink::SqliteTarget,
    source::Source,
    tables::LegacyTable,
    writer::{Job, Writer},
};

/// The importer's maps and sets. Their keys are legacy ids, UUIDs and references, looked
/// up several times per legacy row on the thread that sets the import's pace; foldhash
/// instead of SipHash, whose resistance to chosen keys a one-shot import does not need.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

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
    importer.open_writer().await?;
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
    let finishing = std::time::Instant::now();
    let built = importer.finish_domains().await?;
    tracing::info!(
        built,
        seconds = finishing.elapsed().as_secs_f64(),
        "deferred indexes built and projections recomputed"
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

/// SeaORM's connections to a SQLite target: what the import reads back (its state, the
/// sums, the summary) and the deferred index builds; the rows themselves go through the
/// importer's own [`SqliteTarget`]. Two, so that the donations can be summed while their
/// indexes build (one for an in-memory database, which each connection would have its own
/// of). A small page cache on purpose: `CREATE INDEX` sorts its keys in runs of
/// at most the cache's size, and at --scale 100 runs of 4 MB, merged, sorted faster than
/// runs of 512 MB (the deferred indexes and sums took 22–24 s instead of 30 s). Those runs
/// go to temporary files (the default), not to memory: SQLite's in-memory temporary
/// storage made each build 1.7 times as long (`ledger_account` on 3 million entries
/// 7.7 s instead of 4.4 s). The same settings as the server's otherwise (WAL, NORMAL
/// sync, busy timeout).
async fn connect_sqlite_target(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    use std::time::Duration;

    use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
    let mut options = sea_orm::ConnectOptions::new(url);
    options
        .max_connections(if url.contains(":memory:") || url.contains("mode=memory") {
            1
        } else {
            2
        })
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .pragma("cache_size", "-4096")
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
    /// The open transactions, here while no batch is being written (from
    /// [`Importer::open_writer`] on).
    writer: Option<Writer>,
    /// The batch being written (by a task of its own, while the next one is prepared),
    /// which gives the writer back when done.
    pending: Option<tokio::task::JoinHandle<(Writer, Result<(), LegacyError>)>>,
    /// Donations written by this run, by payment ref (`tables::donations`): a retried
    /// webhook or a refund in a later batch finds its donation here, written or not.
    known_donations: HashMap<String, tables::donations::Known>,
    /// Whether the donations table held rows when this run first looked (`None`: not
    /// looked yet). Empty, every donation there is this run's and in `known_donations`.
    donations_before_run: Option<bool>,
    users: HashMap<i64, Uuid>,
    email_keys: HashMap<String, Uuid>,
    campaigns: HashMap<i64, CampaignRef>,
    slugs: HashSet<String>,
    challenges: HashMap<i64, ChallengeRef>,
    participations: HashMap<i64, ParticipationRef>,
    pairs: HashMap<(Uuid, Uuid), Uuid>,
    matched_participations: HashSet<Uuid>,
    /// The campaign members this run wrote, while their key is deferred (`None`: the
    /// database keeps them unique).
    members_written: Option<HashSet<tables::members::MemberKey>>,
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
    /// Time the reading and preparing side spent waiting for the writer (where the
    /// load's time goes: into preparing, or into writing).
    waited_for_writer: std::time::Duration,
}

impl Importer {
    async fn connect(options: ImportOptions, source: Source) -> Result<Self, LegacyError> {
        let mut targets = Vec::new();
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
            targets.push((domain, db));
        }
        Ok(Self {
            options,
            source,
            targets,
            writer: None,
            pending: None,
            known_donations: HashMap::default(),
            donations_before_run: None,
            users: HashMap::default(),
            email_keys: HashMap::default(),
            campaigns: HashMap::default(),
            slugs: HashSet::default(),
            challenges: HashMap::default(),
            participations: HashMap::default(),
            pairs: HashMap::default(),
            matched_participations: HashSet::default(),
            members_written: None,
            open_reports: HashSet::default(),
            merged: HashSet::default(),
            legacy_paid: BTreeMap::new(),
            unreadable_paid_rows: 0,
            legacy_raised: HashMap::default(),
            read: BTreeMap::new(),
            notes: BTreeMap::new(),
            batches_written: 0,
            batches_unchanged: 0,
            waited_for_writer: std::time::Duration::ZERO,
        })
    }

    fn db(&self, domain: Domain) -> &DatabaseConnection {
        // Every domain is connected in `connect`; the index is the domain's place in ALL.
        &self.targets[Self::index(domain)].1
    }

    /// Opens the writer's connections, once the schema is final (indexes deferred, or an
    /// interrupted run's built again). A SQLite connection parses statements against the
    /// schema it read last, and an INSERT whose `ON CONFLICT` names a key that connection
    /// has not seen fails outright: SQLite reloads a stale schema for a missing table,
    /// not for a missing key.
    async fn open_writer(&mut self) -> Result<(), LegacyError> {
        let mut targets = Vec::new();
        for (domain, db) in &self.targets {
            let sqlite = SqliteTarget::beside(db)
                .await
                .map_err(Self::write_err(*domain))?;
            targets.push((*domain, db.clone(), sqlite.map(std::sync::Arc::new)));
        }
        self.writer = Some(Writer::new(targets));
        Ok(())
    }

    fn index(domain: Domain) -> usize {
        Domain::ALL.iter().position(|d| *d == domain).unwrap_or(0)
    }

    /// The writer, taken out once the batch it was writing is written (the error, if
    /// that failed: the writer and its transactions are then dropped, so rolled back).
    async fn take_writer(&mut self) -> Result<Writer, LegacyError> {
        if let Some(pending) = self.pending.take() {
            let waiting = std::time::Instant::now();
            let (mut writer, written) = pending
                .await
                .map_err(|err| LegacyError::WriterStopped(err.to_string()))?;
            self.waited_for_writer += waiting.elapsed();
            written?;
            // Freed on this thread, which allocated them (see `Writer::spent`).
            drop(std::mem::take(&mut writer.spent));
            return Ok(writer);
        }
        self.writer
            .take()
            .ok_or_else(|| LegacyError::WriterStopped("an earlier write failed".to_owned()))
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
        let waited_before = self.waited_for_writer;
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
                let fresh = previous.is_none();
                self.write_batch::<T>(batch, start, end, rows.len(), fingerprint, fresh)
                    .await?;
            }
            next = self.source.next_id(T::NAME, end).await?;
        }
        let mut writer = self.take_writer().await?;
        let flushing = std::time::Instant::now();
        writer.flush(primary).await?;
        self.waited_for_writer += flushing.elapsed();
        self.writer = Some(writer);
        tracing::info!(
            table = T::NAME,
            rows = self.read.get(T::NAME).copied().unwrap_or(0),
            seconds = started.elapsed().as_secs_f64(),
            waiting_for_the_writer = (self.waited_for_writer - waited_before).as_secs_f64(),
            "legacy table read and written"
        );
        Ok(())
    }

    /// Hands a prepared batch to the writer, which writes it while the next batch is
    /// read and prepared.
    async fn write_batch<T: LegacyTable>(
        &mut self,
        batch: Batch,
        start: i64,
        end: i64,
        row_count: usize,
        fingerprint: u64,
        fresh: bool,
    ) -> Result<(), LegacyError> {
        for note in &batch.notes {
            *self.notes.entry(note).or_default() += 1;
        }
        let merged: Vec<i64> = batch.merges.iter().map(|m| m.legacy_id).collect();
        let job = Job {
            table: T::NAME,
            primary: T::DOMAIN,
            batch,
            start,
            end,
            row_count,
            fingerprint,
            fresh,
        };
        let mut writer = self.take_writer().await?;
        if self
            .options
            .stop_after_batches
            .is_some_and(|limit| self.batches_written >= limit)
        {
            writer.write_and_stop(job).await?;
            return Err(LegacyError::Interrupted(self.batches_written));
        }
        self.pending = Some(tokio::spawn(async move {
            let written = writer.write(job).await;
            (writer, written)
        }));
        for legacy_id in merged {
            self.merged.insert((T::NAME, legacy_id));
        }
        self.batches_written += 1;
        Ok(())
    }

    /// After the load, every domain at once (each is its own file or server process, so the
    /// small domains finish while the donations ledger's indexes build): the indexes a
    /// first import deferred, then the domain's projections that are sums. The donations
    /// are summed meanwhile, on a connection of their own.
    async fn finish_domains(&self) -> Result<usize, LegacyError> {
        let (sums_sent, sums) = futures::channel::oneshot::channel();
        let sums = sums.shared();
        let summing = async {
            // No one listens only when a domain failed, and the join returns that error.
            let _ = sums_sent.send(std::sync::Arc::new(self.donation_sums().await?));
            Ok::<_, LegacyError>(())
        };
        let finishing = futures::future::try_join_all(Domain::ALL.map(|domain| {
            let sums = sums.clone();
            async move {
                let built = indexes::build_domain_indexes(domain, self.db(domain)).await?;
                // Dropped unsent only when the summing failed, and the join returns that.
                let sums = sums.await.map_err(|_| {
                    Self::write_err(Domain::Donations)(sea_orm::DbErr::Custom(
                        "the donations were not summed".to_owned(),
                    ))
                })?;
                self.recompute_projections(domain, &sums).await?;
                Ok::<_, LegacyError>(built)
            }
        }));
        let ((), built) = futures::try_join!(summing, finishing)?;
        Ok(built.into_iter().sum())
    }

    /// The maps a resumed or catch-up run needs, from what earlier runs wrote.
    async fn load_state(&mut self) -> Result<(), LegacyError> {
        state::load(self).await
    }
}
