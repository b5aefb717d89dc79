//! The importer's bookkeeping tables (migration `legacy_import`) and the maps a later run
//! rebuilds from the targets.

use chrono::Utc;
use gerak_actors::{Domain, money::Currency};
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use uuid::Uuid;

use crate::{
    CampaignRef, ChallengeRef, HashMap, Importer, LegacyError, ParticipationRef,
    batch::{Insert, Merge, Reject, int, opt_text, text, time},
    clean::Fnv,
    sink::Txn,
    source::LegacyRow,
};

const BATCH_COLUMNS: &[&str] = &[
    "legacy_table",
    "range_start",
    "row_count",
    "fingerprint",
    "imported_at",
];
const REJECT_COLUMNS: &[&str] = &[
    "legacy_table",
    "legacy_id",
    "reason",
    "row_json",
    "currency",
    "paid_minor",
    "recorded_at",
];
const MERGE_COLUMNS: &[&str] = &[
    "legacy_table",
    "legacy_id",
    "reason",
    "into_id",
    "currency",
    "paid_minor",
    "recorded_at",
];

/// The suffix under which refused changes to already imported rows are listed: they are
/// not rejected rows (the row stays imported), so they are kept apart from the counts.
pub const REFUSED_UPDATE: &str = " (refused update)";

pub fn fingerprint(rows: &[LegacyRow]) -> u64 {
    let mut fnv = Fnv::default();
    for row in rows {
        fnv.bytes(&row.id.to_le_bytes());
        for value in &row.values {
            fnv.field(value.as_deref());
        }
    }
    fnv.finish()
}

/// Range start → fingerprint of the batches done.
pub async fn checkpoints(
    db: &impl ConnectionTrait,
    table: &str,
) -> Result<HashMap<i64, u64>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            placeholders(
                db,
                "SELECT range_start, fingerprint FROM legacy_import_batches WHERE legacy_table = ?",
            ),
            [Value::from(table)],
        ))
        .await?;
    let mut out = HashMap::default();
    for row in rows {
        let start: i64 = row.try_get_by_index(0)?;
        let fingerprint: i64 = row.try_get_by_index(1)?;
        out.insert(start, fingerprint as u64);
    }
    Ok(out)
}

/// `?` placeholders as the backend wants them.
pub fn placeholders(db: &impl ConnectionTrait, sql: &str) -> String {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return sql.to_owned();
    }
    dollar_placeholders(sql)
}

/// `?` placeholders as `$1`, `$2`, … (the importer's SQL has no `?` in literals).
pub fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
pub async fn record_batch(
    db: &mut Txn<'_>,
    table: &'static str,
    start: i64,
    end: i64,
    row_count: usize,
    fingerprint: u64,
    rejects: &[Reject],
    refused: &[Reject],
    merges: &[Merge],
) -> Result<(), DbErr> {
    let now = Utc::now();
    // A batch done again (its legacy rows changed) starts from its rows' new verdicts.
    db.execute(
        "DELETE FROM legacy_import_rejects WHERE legacy_table = ? AND legacy_id >= ? AND legacy_id < ?",
        vec![Value::from(table), Value::from(start), Value::from(end)],
    )
    .await?;
    let reject_rows = |table: String, list: &[Reject]| -> Vec<Vec<Value>> {
        list.iter()
            .map(|r| {
                vec![
                    text(table.clone()),
                    int(r.legacy_id),
                    text(r.reason.clone()),
                    text(r.row.to_string()),
                    opt_text(r.paid.map(|m| m.currency.code().to_owned())),
                    Value::BigInt(r.paid.map(|m| m.minor)),
                    time(now),
                ]
            })
            .collect()
    };
    let rejects_insert = Insert::new("legacy_import_rejects", REJECT_COLUMNS).upsert(
        &["legacy_table", "legacy_id"],
        &[
            "reason",
            "row_json",
            "currency",
            "paid_minor",
            "recorded_at",
        ],
    );
    db.insert(&rejects_insert, reject_rows(table.to_owned(), rejects))
        .await?;
    db.insert(
        &rejects_insert,
        reject_rows(format!("{table}{REFUSED_UPDATE}"), refused),
    )
    .await?;
    let merge_rows = merges
        .iter()
        .map(|m| {
            vec![
                text(table),
                int(m.legacy_id),
                text(m.reason.clone()),
                text(m.into_id.clone()),
                opt_text(m.paid.map(|p| p.currency.code().to_owned())),
                Value::BigInt(m.paid.map(|p| p.minor)),
                time(now),
            ]
        })
        .collect();
    let merges_insert =
        Insert::new("legacy_import_merges", MERGE_COLUMNS).ignore(&["legacy_table", "legacy_id"]);
    db.insert(&merges_insert, merge_rows).await?;
    let batches_insert = Insert::new("legacy_import_batches", BATCH_COLUMNS).upsert(
        &["legacy_table", "range_start"],
        &["row_count", "fingerprint", "imported_at"],
    );
    db.insert(
        &batches_insert,
        vec![vec![
            text(table),
            int(start),
            int(row_count as i64),
            int(fingerprint as i64),
            time(now),
        ]],
    )
    .await
}

async fn query(db: &impl ConnectionTrait, sql: &str) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
}

fn uuid(row: &sea_orm::QueryResult, index: usize) -> Option<Uuid> {
    row.try_get_by_index::<Option<String>>(index)
        .ok()
        .flatten()
        .and_then(|s| Uuid::parse_str(&s).ok())
}

fn legacy(row: &sea_orm::QueryResult, index: usize) -> Option<i64> {
    row.try_get_by_index::<Option<i64>>(index).ok().flatten()
}

/// Rebuilds the importer's maps from the targets: what earlier runs imported and merged.
pub async fn load(importer: &mut Importer) -> Result<(), LegacyError> {
    let err = |domain: Domain| Importer::write_err(domain);
    let merges = |table: &str| {
        format!(
            "SELECT legacy_id, into_id FROM legacy_import_merges WHERE legacy_table = '{table}'"
        )
    };

    let db = importer.db(Domain::Users).clone();
    for row in query(&db, "SELECT legacy_id, id, email_key FROM users")
        .await
        .map_err(err(Domain::Users))?
    {
        let (Some(id), key) = (uuid(&row, 1), row.try_get_by_index::<String>(2).ok()) else {
            continue;
        };
        if let Some(legacy_id) = legacy(&row, 0) {
            importer.users.insert(legacy_id, id);
        }
        if let Some(key) = key {
            importer.email_keys.insert(key, id);
        }
    }
    for row in query(&db, &merges("users"))
        .await
        .map_err(err(Domain::Users))?
    {
        if let (Some(legacy_id), Some(into)) = (legacy(&row, 0), uuid(&row, 1)) {
            importer.users.insert(legacy_id, into);
            importer.merged.insert(("users", legacy_id));
        }
    }

    let db = importer.db(Domain::Campaigns).clone();
    let mut organizers = HashMap::default();
    for row in query(
        &db,
        "SELECT legacy_id, id, organizer_id, currency, slug FROM campaigns",
    )
    .await
    .map_err(err(Domain::Campaigns))?
    {
        if let Ok(slug) = row.try_get_by_index::<String>(4) {
            importer.slugs.insert(slug);
        }
        let (Some(id), Some(organizer)) = (uuid(&row, 1), uuid(&row, 2)) else {
            continue;
        };
        let currency = row
            .try_get_by_index::<String>(3)
            .ok()
            .and_then(|c| Currency::parse("currency", &c).ok());
        let Some(currency) = currency else { continue };
        organizers.insert(id, organizer);
        if let Some(legacy_id) = legacy(&row, 0) {
            importer.campaigns.insert(
                legacy_id,
                CampaignRef {
                    id,
                    organizer,
                    currency,
                },
            );
        }
    }

    let db = importer.db(Domain::Challenges).clone();
    for row in query(
        &db,
        "SELECT legacy_id, id, campaign_id, currency FROM challenges WHERE legacy_id IS NOT NULL",
    )
    .await
    .map_err(err(Domain::Challenges))?
    {
        let (Some(legacy_id), Some(id), Some(campaign)) =
            (legacy(&row, 0), uuid(&row, 1), uuid(&row, 2))
        else {
            continue;
        };
        let currency = row
            .try_get_by_index::<String>(3)
            .ok()
            .and_then(|c| Currency::parse("currency", &c).ok());
        let (Some(_), Some(organizer)) = (currency, organizers.get(&campaign).copied()) else {
            continue;
        };
        importer.challenges.insert(
            legacy_id,
            ChallengeRef {
                id,
                campaign,
                organizer,
            },
        );
    }
    let mut by_id = HashMap::default();
    for row in query(
        &db,
        "SELECT legacy_id, id, user_id, challenge_id FROM participations",
    )
    .await
    .map_err(err(Domain::Challenges))?
    {
        let (Some(id), Some(user), Some(challenge)) = (uuid(&row, 1), uuid(&row, 2), uuid(&row, 3))
        else {
            continue;
        };
        let participation = ParticipationRef {
            id,
            user,
            challenge,
        };
        importer.pairs.insert((challenge, user), id);
        by_id.insert(id, participation);
        if let Some(legacy_id) = legacy(&row, 0) {
            importer.participations.insert(legacy_id, participation);
        }
    }
    for row in query(&db, &merges("challenge_participants"))
        .await
        .map_err(err(Domain::Challenges))?
    {
        if let (Some(legacy_id), Some(into)) = (legacy(&row, 0), uuid(&row, 1)) {
            if let Some(winner) = by_id.get(&into) {
                importer.participations.insert(legacy_id, *winner);
            }
            importer
                .merged
                .insert(("challenge_participants", legacy_id));
        }
    }

    let db = importer.db(Domain::Donations).clone();
    for row in query(
        &db,
        "SELECT participation_id FROM donations WHERE participation_id IS NOT NULL",
    )
    .await
    .map_err(err(Domain::Donations))?
    {
        if let Some(id) = uuid(&row, 0) {
            importer.matched_participations.insert(id);
        }
    }
    for row in query(&db, &merges("donations"))
        .await
        .map_err(err(Domain::Donations))?
    {
        if let Some(legacy_id) = legacy(&row, 0) {
            importer.merged.insert(("donations", legacy_id));
        }
    }

    let db = importer.db(Domain::Reports).clone();
    for row in query(
        &db,
        "SELECT reporter_id, target_type, target_id FROM reports WHERE status = 'OPEN'",
    )
    .await
    .map_err(err(Domain::Reports))?
    {
        let kind = match row.try_get_by_index::<String>(1).ok().as_deref() {
            Some("CAMPAIGN") => "CAMPAIGN",
            Some("CHALLENGE") => "CHALLENGE",
            Some("USER") => "USER",
            Some("SUBMISSION") => "SUBMISSION",
            _ => continue,
        };
        if let (Some(reporter), Some(target)) = (uuid(&row, 0), uuid(&row, 2)) {
            importer.open_reports.insert((reporter, kind, target));
        }
    }
    for row in query(&db, &merges("reports"))
        .await
        .map_err(err(Domain::Reports))?
    {
        if let Some(legacy_id) = legacy(&row, 0) {
            importer.merged.insert(("reports", legacy_id));
        }
    }
    Ok(())
}
