//! The end of a run: the projections that are sums, recomputed from the imported rows;
//! and the summary, built from the end state of the databases (so it is right however
//! many runs it took), with the reject file and the report.

use std::{collections::BTreeMap, fmt, io::Write, time::Duration};

use gerak_actors::{Domain, money::Money};
use sea_orm::{ConnectionTrait, DbErr, Statement, TransactionTrait, Value};
use serde_json::json;

use crate::{Importer, LegacyError, state::placeholders};

/// One legacy table's rows: every row read is imported, merged or rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLine {
    pub table: &'static str,
    pub read: i64,
    pub imported: i64,
    pub merged: i64,
    pub rejected: i64,
}

impl TableLine {
    pub fn unaccounted(&self) -> i64 {
        self.read - self.imported - self.merged - self.rejected
    }
}

/// One currency's money: what the monolith counted as paid (every `paid` row, refund rows
/// negative) against where it went. `imported` is read from the imported donations (paid
/// net of refunds), `merged` is retried webhooks and refunds of donations already marked
/// refunded, `rejected` the paid money of rejected rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyLine {
    pub currency: String,
    pub legacy_paid: i64,
    pub imported: i64,
    pub merged: i64,
    pub rejected: i64,
}

impl MoneyLine {
    pub fn unaccounted(&self) -> i64 {
        self.legacy_paid - self.imported - self.merged - self.rejected
    }
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub tables: Vec<TableLine>,
    pub money: Vec<MoneyLine>,
    /// `paid` rows whose amount or currency could not be read: rejected, money unknown.
    pub unreadable_paid_rows: u64,
    /// Campaigns whose legacy `raised_amount` differs from their donations:
    /// (legacy id, legacy figure, recomputed), in minor units.
    pub drifted_campaigns: Vec<(i64, i64, i64)>,
    pub refused_updates: i64,
    pub cleaning: BTreeMap<&'static str, u64>,
    pub batches_written: u64,
    pub batches_unchanged: u64,
    pub elapsed: Duration,
}

impl Summary {
    /// Nothing unaccounted: every row and every unit of money has a place.
    pub fn is_balanced(&self) -> bool {
        self.tables.iter().all(|t| t.unaccounted() == 0)
            && self.money.iter().all(|m| m.unaccounted() == 0)
    }

    pub fn rows_read(&self) -> i64 {
        self.tables.iter().map(|t| t.read).sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<24}{:>10}{:>10}{:>10}{:>10}{:>13}",
            "legacy table", "read", "imported", "merged", "rejected", "unaccounted"
        )?;
        for t in &self.tables {
            writeln!(
                f,
                "{:<24}{:>10}{:>10}{:>10}{:>10}{:>13}",
                t.table,
                t.read,
                t.imported,
                t.merged,
                t.rejected,
                t.unaccounted()
            )?;
        }
        writeln!(f)?;
        writeln!(f, "money (paid rows, minor units)")?;
        writeln!(
            f,
            "{:<10}{:>18}{:>18}{:>16}{:>16}{:>13}",
            "currency", "legacy paid", "imported", "merged", "rejected", "unaccounted"
        )?;
        for m in &self.money {
            writeln!(
                f,
                "{:<10}{:>18}{:>18}{:>16}{:>16}{:>13}",
                m.currency,
                amount(m.legacy_paid, &m.currency),
                amount(m.imported, &m.currency),
                amount(m.merged, &m.currency),
                amount(m.rejected, &m.currency),
                amount(m.unaccounted(), &m.currency)
            )?;
        }
        if self.unreadable_paid_rows > 0 {
            writeln!(
                f,
                "paid rows whose amount could not be read (rejected, not in the totals): {}",
                self.unreadable_paid_rows
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "campaigns whose legacy raised_amount drifted from their donations: {}",
            self.drifted_campaigns.len()
        )?;
        if self.refused_updates > 0 {
            writeln!(
                f,
                "legacy changes refused after import (listed in the reject file): {}",
                self.refused_updates
            )?;
        }
        for (note, count) in &self.cleaning {
            writeln!(f, "cleaned: {note}: {count}")?;
        }
        let seconds = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "{} legacy rows in {:.1} s ({:.0} rows/s); batches written {}, unchanged since the last run {}",
            self.rows_read(),
            seconds,
            self.rows_read() as f64 / seconds,
            self.batches_written,
            self.batches_unchanged
        )?;
        write!(
            f,
            "{}",
            if self.is_balanced() {
                "BALANCED: every row and every unit of money is accounted for"
            } else {
                "UNBALANCED: see the unaccounted column"
            }
        )
    }
}

fn amount(minor: i64, currency: &str) -> String {
    Money::from_stored(minor, currency).map_or_else(|_| minor.to_string(), |m| m.amount())
}

const TABLES: &[(&str, Domain, &str)] = &[
    ("users", Domain::Users, "users"),
    ("campaigns", Domain::Campaigns, "campaigns"),
    ("challenges", Domain::Challenges, "challenges"),
    (
        "challenge_participants",
        Domain::Challenges,
        "participations",
    ),
    ("donations", Domain::Donations, "donations"),
    ("reports", Domain::Reports, "reports"),
];

const NET_PAID: &str = "COALESCE(SUM(amount_minor - refunded_minor), 0)";
const MONEY_MOVED: &str = "status IN ('PAID', 'REFUNDED')";

async fn rows(db: &impl ConnectionTrait, sql: &str) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
}

async fn count(db: &impl ConnectionTrait, sql: &str) -> Result<i64, DbErr> {
    Ok(rows(db, sql)
        .await?
        .first()
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0))
}

/// (text, integer) pairs, such as (currency, sum).
async fn pairs(db: &impl ConnectionTrait, sql: &str) -> Result<Vec<(String, i64)>, DbErr> {
    Ok(rows(db, sql)
        .await?
        .iter()
        .filter_map(|r| {
            Some((
                r.try_get_by_index::<String>(0).ok()?,
                r.try_get_by_index::<i64>(1).ok()?,
            ))
        })
        .collect())
}

/// The imported donations' money (paid net of refunds), summed three ways.
#[derive(Default)]
pub(crate) struct DonationSums {
    /// By (campaign id, currency).
    raised: BTreeMap<(String, String), i64>,
    /// By (challenge id, currency).
    by_challenge: BTreeMap<(String, String), i64>,
    /// By currency.
    totals: BTreeMap<String, i64>,
}

impl Importer {
    /// One pass over the donations, folded three ways. Grouped by campaign first, the
    /// query walks the campaign index and fetches every row from a random page (5.8 s at
    /// --scale 100); grouped by challenge first (no index starts with it) it scans the
    /// table in order, and needs none of the indexes a first import defers.
    pub(crate) async fn donation_sums(&self) -> Result<DonationSums, LegacyError> {
        let donations = self.db(Domain::Donations);
        let err = Self::write_err(Domain::Donations);
        let mut sums = DonationSums::default();
        for row in rows(
            donations,
            &format!("SELECT campaign_id, challenge_id, currency, CAST({NET_PAID} AS BIGINT) FROM donations WHERE {MONEY_MOVED} GROUP BY challenge_id, campaign_id, currency"),
        )
        .await
        .map_err(&err)?
        {
            let (Ok(campaign), Ok(challenge), Ok(currency), Ok(sum)) = (
                row.try_get_by_index::<String>(0),
                row.try_get_by_index::<Option<String>>(1),
                row.try_get_by_index::<String>(2),
                row.try_get_by_index::<i64>(3),
            ) else {
                continue;
            };
            *sums.raised.entry((campaign, currency.clone())).or_default() += sum;
            if let Some(challenge) = challenge {
                *sums
                    .by_challenge
                    .entry((challenge, currency.clone()))
                    .or_default() += sum;
            }
            *sums.totals.entry(currency).or_default() += sum;
        }
        Ok(sums)
    }

    /// The projections of `domain` that are sums (campaign totals and member counts,
    /// challenge approval counts and the leaderboard, the reports domain's money totals),
    /// computed again every run so that they equal the rows whatever happened in between.
    /// Each is one aggregate over its table, so none needs the indexes a first import
    /// defers: the domains' projections are written while the donations' indexes build.
    pub(crate) async fn recompute_projections(
        &self,
        domain: Domain,
        sums: &DonationSums,
    ) -> Result<(), LegacyError> {
        let db = self.db(domain);
        let err = Self::write_err(domain);
        let txn = db.begin().await.map_err(&err)?;
        match domain {
            Domain::Campaigns => campaign_projections(&txn, sums).await,
            Domain::Challenges => challenge_projections(&txn).await,
            Domain::Reports => report_projections(&txn, sums).await,
            Domain::Users | Domain::Donations => Ok(()),
        }
        .map_err(&err)?;
        txn.commit().await.map_err(&err)
    }

    pub(crate) async fn summarize(&self, elapsed: Duration) -> Result<Summary, LegacyError> {
        let mut tables = Vec::new();
        let mut refused_updates = 0;
        for (legacy, domain, target) in TABLES {
            let db = self.db(*domain);
            let err = Self::write_err(*domain);
            let imported = count(
                db,
                &format!("SELECT COUNT(*) FROM {target} WHERE legacy_id IS NOT NULL"),
            )
            .await
            .map_err(&err)?;
            let merged = count(
                db,
                &format!(
                    "SELECT COUNT(*) FROM legacy_import_merges WHERE legacy_table = '{legacy}'"
                ),
            )
            .await
            .map_err(&err)?;
            let rejected = count(
                db,
                &format!(
                    "SELECT COUNT(*) FROM legacy_import_rejects WHERE legacy_table = '{legacy}'"
                ),
            )
            .await
            .map_err(&err)?;
            refused_updates += count(
                db,
                &format!(
                    "SELECT COUNT(*) FROM legacy_import_rejects WHERE legacy_table = '{legacy}{}'",
                    crate::state::REFUSED_UPDATE
                ),
            )
            .await
            .map_err(&err)?;
            tables.push(TableLine {
                table: legacy,
                read: self.read.get(legacy).copied().unwrap_or(0) as i64,
                imported,
                merged,
                rejected,
            });
        }

        let donations = self.db(Domain::Donations);
        let err = Self::write_err(Domain::Donations);
        let imported = pairs(donations, &format!("SELECT currency, CAST({NET_PAID} AS BIGINT) FROM donations WHERE legacy_id IS NOT NULL AND {MONEY_MOVED} GROUP BY currency")).await.map_err(&err)?;
        let merged = pairs(donations, "SELECT currency, CAST(SUM(paid_minor) AS BIGINT) FROM legacy_import_merges WHERE legacy_table = 'donations' AND paid_minor IS NOT NULL GROUP BY currency").await.map_err(&err)?;
        let rejected = pairs(donations, "SELECT currency, CAST(SUM(paid_minor) AS BIGINT) FROM legacy_import_rejects WHERE legacy_table = 'donations' AND paid_minor IS NOT NULL GROUP BY currency").await.map_err(&err)?;
        let mut money: BTreeMap<String, MoneyLine> = BTreeMap::new();
        fn line<'a>(
            money: &'a mut BTreeMap<String, MoneyLine>,
            currency: &str,
        ) -> &'a mut MoneyLine {
            money
                .entry(currency.to_owned())
                .or_insert_with(|| MoneyLine {
                    currency: currency.to_owned(),
                    legacy_paid: 0,
                    imported: 0,
                    merged: 0,
                    rejected: 0,
                })
        }
        for (currency, sum) in &self.legacy_paid {
            line(&mut money, currency).legacy_paid += sum;
        }
        for (currency, sum) in imported {
            line(&mut money, &currency).imported += sum;
        }
        for (currency, sum) in merged {
            line(&mut money, &currency).merged += sum;
        }
        for (currency, sum) in rejected {
            line(&mut money, &currency).rejected += sum;
        }

        let campaigns = self.db(Domain::Campaigns);
        let recomputed = rows(
            campaigns,
            "SELECT legacy_id, raised_minor FROM campaigns WHERE legacy_id IS NOT NULL",
        )
        .await
        .map_err(Self::write_err(Domain::Campaigns))?;
        let mut drifted_campaigns: Vec<(i64, i64, i64)> = recomputed
            .iter()
            .filter_map(|r| {
                let legacy_id = r.try_get_by_index::<i64>(0).ok()?;
                let now = r.try_get_by_index::<i64>(1).ok()?;
                let legacy = self.legacy_raised.get(&legacy_id).copied()?;
                (legacy != now).then_some((legacy_id, legacy, now))
            })
            .collect();
        drifted_campaigns.sort_unstable();

        let summary = Summary {
            tables,
            money: money.into_values().collect(),
            unreadable_paid_rows: self.unreadable_paid_rows,
            drifted_campaigns,
            refused_updates,
            cleaning: self.notes.clone(),
            batches_written: self.batches_written,
            batches_unchanged: self.batches_unchanged,
            elapsed,
        };
        self.write_files(&summary).await?;
        Ok(summary)
    }

    /// The reject file (every rejected row of every run, JSON lines, like pgloader's) and
    /// the report (summary, merges, drifted campaigns), rewritten complete each run.
    async fn write_files(&self, summary: &Summary) -> Result<(), LegacyError> {
        let file_err = |path: &std::path::Path| {
            let path = path.display().to_string();
            move |source| LegacyError::File {
                path: path.clone(),
                source,
            }
        };
        let reject_path = &self.options.reject_file;
        let mut rejects = std::io::BufWriter::new(
            std::fs::File::create(reject_path).map_err(file_err(reject_path))?,
        );
        let mut merges = Vec::new();
        for (domain, _) in &self.targets {
            let db = self.db(*domain);
            let err = Self::write_err(*domain);
            for row in rows(db, "SELECT legacy_table, legacy_id, reason, row_json FROM legacy_import_rejects ORDER BY legacy_table, legacy_id").await.map_err(&err)? {
                let table = row.try_get_by_index::<String>(0).unwrap_or_default();
                let legacy_id = row.try_get_by_index::<i64>(1).unwrap_or_default();
                let reason = row.try_get_by_index::<String>(2).unwrap_or_default();
                let data: serde_json::Value = row
                    .try_get_by_index::<String>(3)
                    .ok()
                    .and_then(|r| serde_json::from_str(&r).ok())
                    .unwrap_or_default();
                let line = json!({ "table": table, "legacyId": legacy_id, "reason": reason, "row": data });
                writeln!(rejects, "{line}").map_err(file_err(reject_path))?;
            }
            for row in rows(db, "SELECT legacy_table, legacy_id, into_id, reason FROM legacy_import_merges ORDER BY legacy_table, legacy_id").await.map_err(&err)? {
                merges.push(json!({
                    "table": row.try_get_by_index::<String>(0).unwrap_or_default(),
                    "legacyId": row.try_get_by_index::<i64>(1).unwrap_or_default(),
                    "mergedInto": row.try_get_by_index::<String>(2).unwrap_or_default(),
                    "reason": row.try_get_by_index::<String>(3).unwrap_or_default(),
                }));
            }
        }
        rejects.flush().map_err(file_err(reject_path))?;
        let report = json!({
            "balanced": summary.is_balanced(),
            "tables": summary.tables.iter().map(|t| json!({
                "table": t.table, "read": t.read, "imported": t.imported, "merged": t.merged,
                "rejected": t.rejected, "unaccounted": t.unaccounted(),
            })).collect::<Vec<_>>(),
            "money": summary.money.iter().map(|m| json!({
                "currency": m.currency, "legacyPaid": amount(m.legacy_paid, &m.currency),
                "imported": amount(m.imported, &m.currency), "merged": amount(m.merged, &m.currency),
                "rejected": amount(m.rejected, &m.currency), "unaccounted": amount(m.unaccounted(), &m.currency),
            })).collect::<Vec<_>>(),
            "unreadablePaidRows": summary.unreadable_paid_rows,
            "refusedUpdates": summary.refused_updates,
            "cleaning": summary.cleaning,
            // Every merge: the account or row that won, so that every reference re-pointed
            // to it can be traced.
            "merges": merges,
            "driftedCampaigns": summary.drifted_campaigns.iter().map(|(id, legacy, now)| json!({
                "legacyId": id, "legacyRaisedMinor": legacy, "recomputedRaisedMinor": now,
            })).collect::<Vec<_>>(),
        });
        let report_path = &self.options.report_file;
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        std::fs::write(report_path, text).map_err(file_err(report_path))?;
        Ok(())
    }
}

async fn campaign_projections(
    txn: &impl ConnectionTrait,
    sums: &DonationSums,
) -> Result<(), DbErr> {
    let current = rows(
        txn,
        "SELECT id, currency, raised_minor FROM campaigns WHERE legacy_id IS NOT NULL",
    )
    .await?;
    for row in current {
        let (Ok(id), Ok(currency), Ok(now)) = (
            row.try_get_by_index::<String>(0),
            row.try_get_by_index::<String>(1),
            row.try_get_by_index::<i64>(2),
        ) else {
            continue;
        };
        let truth = sums
            .raised
            .get(&(id.clone(), currency))
            .copied()
            .unwrap_or(0);
        if truth != now {
            txn.execute_raw(Statement::from_sql_and_values(
                txn.get_database_backend(),
                placeholders(txn, "UPDATE campaigns SET raised_minor = ? WHERE id = ?"),
                [Value::from(truth), Value::from(id)],
            ))
            .await?;
        }
    }
    // Counted in one pass over the members (not per campaign, which needs an index).
    txn.execute_unprepared(
        "UPDATE campaigns SET donor_count = 0, participant_count = 0 WHERE legacy_id IS NOT NULL",
    )
    .await?;
    txn.execute_unprepared(
        "UPDATE campaigns SET donor_count = counted.donors, participant_count = counted.participants \
         FROM (SELECT campaign_id, \
                      SUM(CASE WHEN kind = 'donor' THEN 1 ELSE 0 END) AS donors, \
                      SUM(CASE WHEN kind = 'participant' THEN 1 ELSE 0 END) AS participants \
               FROM campaign_members GROUP BY campaign_id) AS counted \
         WHERE campaigns.id = counted.campaign_id AND campaigns.legacy_id IS NOT NULL",
    )
    .await?;
    Ok(())
}

async fn challenge_projections(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    txn.execute_unprepared("UPDATE challenges SET approved_count = 0 WHERE legacy_id IS NOT NULL")
        .await?;
    txn.execute_unprepared(
        "UPDATE challenges SET approved_count = counted.approved \
         FROM (SELECT challenge_id, COUNT(*) AS approved FROM participations \
               WHERE status = 'APPROVED' GROUP BY challenge_id) AS counted \
         WHERE challenges.id = counted.challenge_id AND challenges.legacy_id IS NOT NULL",
    )
    .await?;
    txn.execute_unprepared(
        "INSERT INTO leaderboard_entries (campaign_id, user_id, approved_actions, reached_at) \
         SELECT campaign_id, user_id, COUNT(*), MAX(COALESCE(reviewed_at, updated_at)) FROM participations \
         WHERE status = 'APPROVED' GROUP BY campaign_id, user_id \
         ON CONFLICT (campaign_id, user_id) DO UPDATE SET approved_actions = excluded.approved_actions, reached_at = excluded.reached_at",
    )
    .await?;
    Ok(())
}

async fn report_projections(txn: &impl ConnectionTrait, sums: &DonationSums) -> Result<(), DbErr> {
    let upsert_total = placeholders(
        txn,
        "INSERT INTO challenge_totals (challenge_id, currency, donated_minor) VALUES (?, ?, ?) \
         ON CONFLICT (challenge_id) DO UPDATE SET currency = excluded.currency, donated_minor = excluded.donated_minor",
    );
    for ((challenge, currency), sum) in &sums.by_challenge {
        txn.execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            upsert_total.clone(),
            [
                Value::from(challenge.clone()),
                Value::from(currency.clone()),
                Value::from(*sum),
            ],
        ))
        .await?;
    }
    for (currency, sum) in &sums.totals {
        txn.execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            placeholders(txn, "INSERT INTO raised_totals (currency, raised_minor) VALUES (?, ?) ON CONFLICT (currency) DO UPDATE SET raised_minor = excluded.raised_minor"),
            [Value::from(currency.clone()), Value::from(*sum)],
        ))
        .await?;
    }
    Ok(())
}
