//! The import's writes: one open transaction per domain database, a batch's rows written
//! into them while the importer prepares the next batch, and group commits.
//!
//! A batch's rows land at random places of the tables' unique indexes (UUIDs), so every
//! commit writes most of those indexes' pages to the WAL again: committing every batch made
//! the import quadratic. Batches are therefore committed in groups of about `GROUP_ROWS`
//! legacy rows, each batch still with its own checkpoint row; a run killed mid-group
//! redoes the group's batches (their rows are written with `ON CONFLICT`, their ids are
//! derived from the legacy rows, so nothing is counted twice).

use std::sync::Arc;

use gerak_actors::Domain;
use sea_orm::DatabaseConnection;

use crate::{
    Importer, LegacyError,
    batch::{self, Batch},
    sink::{SqliteTarget, Txn},
    state,
};

/// Legacy rows per commit. Measured at --scale 100 into SQLite: one commit per batch of
/// 20,000 rows 137.7 s, one per 250,000 rows 119–124 s.
const GROUP_ROWS: usize = 250_000;

/// A prepared batch on its way to the databases.
pub struct Job {
    pub table: &'static str,
    pub primary: Domain,
    pub batch: Batch,
    pub start: i64,
    pub end: i64,
    pub row_count: usize,
    pub fingerprint: u64,
    /// No checkpoint of this range was committed before: its batch-owned rows are new.
    pub fresh: bool,
}

/// The open transactions on the five domain databases.
pub struct Writer {
    targets: Vec<(Domain, DatabaseConnection, Option<Arc<SqliteTarget>>)>,
    open: Vec<Option<Txn<'static>>>,
    /// Legacy rows in the batches of the open group.
    group_rows: usize,
    /// Rows written, handed back to be freed by the thread that allocated them: memory
    /// freed by another thread made each allocation of the next batch a cache miss.
    pub spent: Vec<Vec<Vec<sea_orm::Value>>>,
}

impl Writer {
    pub fn new(targets: Vec<(Domain, DatabaseConnection, Option<Arc<SqliteTarget>>)>) -> Self {
        let open = targets.iter().map(|_| None).collect();
        Self {
            targets,
            open,
            group_rows: 0,
            spent: Vec::new(),
        }
    }

    fn index(&self, domain: Domain) -> usize {
        self.targets
            .iter()
            .position(|(d, _, _)| *d == domain)
            .unwrap_or(0)
    }

    /// Takes the open transaction on `domain`'s database out (begun if there is none),
    /// through the importer's own SQLite writer where the database is a SQLite file.
    async fn take(&mut self, domain: Domain) -> Result<Txn<'static>, LegacyError> {
        let index = self.index(domain);
        match self.open[index].take() {
            Some(txn) => Ok(txn),
            None => {
                let (_, db, sqlite) = &self.targets[index];
                Txn::begin(db, sqlite.as_ref())
                    .await
                    .map_err(Importer::write_err(domain))
            }
        }
    }

    /// Commits the open transactions: the other domains' projections first, `primary`'s
    /// rows and checkpoints last, so a committed checkpoint always has its projections.
    pub async fn flush(&mut self, primary: Domain) -> Result<(), LegacyError> {
        let mut order: Vec<Domain> = self
            .targets
            .iter()
            .map(|(d, _, _)| *d)
            .filter(|d| *d != primary)
            .collect();
        order.push(primary);
        for domain in order {
            let index = self.index(domain);
            if let Some(txn) = self.open[index].take() {
                txn.commit().await.map_err(Importer::write_err(domain))?;
            }
        }
        self.group_rows = 0;
        Ok(())
    }

    /// Writes a batch into the open transactions, and commits the group when it is full.
    pub async fn write(&mut self, job: Job) -> Result<(), LegacyError> {
        let primary = job.primary;
        self.write_rows(job).await?;
        if self.group_rows >= GROUP_ROWS {
            self.flush(primary).await?;
        }
        Ok(())
    }

    /// As if the import were killed in the middle of `job`, right after a group commit:
    /// the group before it is committed, and so are the batch's projections (they are
    /// idempotent upserts); its rows and checkpoint are rolled back.
    pub async fn write_and_stop(&mut self, job: Job) -> Result<(), LegacyError> {
        let primary = job.primary;
        self.flush(primary).await?;
        self.write_rows(job).await?;
        let index = self.index(primary);
        let unfinished = self.open[index].take();
        self.flush(primary).await?;
        drop(unfinished);
        Ok(())
    }

    async fn write_rows(&mut self, job: Job) -> Result<(), LegacyError> {
        let Job {
            table,
            primary,
            batch,
            start,
            end,
            row_count,
            fingerprint,
            fresh,
        } = job;
        // The projections other domains keep go into those domains' transactions, written
        // while the primary one fills (on PostgreSQL each is its own server process, on
        // SQLite its own file and thread); `flush` commits them before the primary.
        let mut secondary: Vec<(Domain, Vec<batch::Rows>)> = Vec::new();
        for (domain, rows) in batch.secondary {
            match secondary.iter_mut().find(|(d, _)| *d == domain) {
                Some((_, list)) => list.push(rows),
                None => secondary.push((domain, vec![rows])),
            }
        }
        let mut projection_txns = Vec::new();
        for (domain, list) in secondary {
            let txn = self.take(domain).await?;
            projection_txns.push((domain, txn, list));
        }
        let mut txn = self.take(primary).await?;
        let projections = futures::future::join_all(projection_txns.into_iter().map(
            |(domain, mut txn, list)| async move {
                let mut written = Ok(());
                for rows in list {
                    written = txn.insert(&rows.insert, rows.rows).await;
                    if written.is_err() {
                        break;
                    }
                }
                (domain, txn, written.map_err(Importer::write_err(domain)))
            },
        ));
        let err = Importer::write_err(primary);
        let spent = &mut self.spent;
        let primary_rows = async {
            for rows in batch.primary {
                if fresh && rows.insert.batch_owned {
                    spent.push(
                        txn.insert_new(&rows.insert, rows.rows)
                            .await
                            .map_err(&err)?,
                    );
                } else {
                    txn.insert(&rows.insert, rows.rows).await.map_err(&err)?;
                }
            }
            for statement in batch.primary_statements {
                let values = statement.values.map(|v| v.0).unwrap_or_default();
                txn.execute(&statement.sql, values).await.map_err(&err)?;
            }
            state::record_batch(
                &mut txn,
                table,
                start,
                end,
                row_count,
                fingerprint,
                &batch.rejects,
                &batch.refused_updates,
                &batch.merges,
            )
            .await
            .map_err(&err)
        };
        let (projections, written) = futures::future::join(projections, primary_rows).await;
        // Every transaction goes back before errors are looked at; one that fails is
        // dropped with the writer, which rolls it back.
        let index = self.index(primary);
        self.open[index] = Some(txn);
        let mut failed = written.err();
        for (domain, txn, written) in projections {
            let index = self.index(domain);
            self.open[index] = Some(txn);
            if let Err(err) = written {
                failed.get_or_insert(err);
            }
        }
        if let Some(err) = failed {
            return Err(err);
        }
        self.group_rows += row_count;
        Ok(())
    }
}
