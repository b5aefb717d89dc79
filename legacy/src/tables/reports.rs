//! `reports` → the reports domain.

use gerak_actors::Domain;
use uuid::Uuid;

use super::{LegacyTable, first_time};
use crate::{
    Importer, LegacyError,
    batch::{Batch, Insert, Merge, boolean, int, opt_text, opt_time, text, time},
    clean,
    source::LegacyRow,
};

pub struct Reports;

const REPORTER_ID: usize = 0;
const TARGET_TYPE: usize = 1;
const TARGET_ID: usize = 2;
const REASON: usize = 3;
const NOTE: usize = 4;
const STATUS: usize = 5;
const HANDLED_BY: usize = 6;
const HANDLED_AT: usize = 7;
const CREATED_AT: usize = 8;

const REPORT_COLUMNS: &[&str] = &[
    "id",
    "legacy_id",
    "reporter_id",
    "target_type",
    "target_id",
    "target_owner_id",
    "reason",
    "note",
    "status",
    "handled_by",
    "handled_at",
    "resolution_note",
    "is_appeal",
    "created_at",
];
const NOTE_MAX: usize = 1000;

impl LegacyTable for Reports {
    const NAME: &'static str = "reports";
    const COLUMNS: &'static [&'static str] = &[
        "reporter_id",
        "target_type",
        "target_id",
        "reason",
        "note",
        "status",
        "handled_by",
        "handled_at",
        "created_at",
    ];
    const DOMAIN: Domain = Domain::Reports;

    async fn prepare(
        importer: &mut Importer,
        rows: &[LegacyRow],
        _again: bool,
    ) -> Result<Batch, LegacyError> {
        // Only what moderation did in the monolith changes later; the report itself is fixed.
        let reports = Insert::new("reports", REPORT_COLUMNS)
            .upsert(&["legacy_id"], &["status", "handled_by", "handled_at"]);
        let mut batch = Batch::default();
        for row in rows {
            if importer.merged.contains(&(Self::NAME, row.id)) {
                continue;
            }
            let reject =
                |batch: &mut Batch, reason: String| batch.reject(row, Self::COLUMNS, reason, None);
            let Some(reporter) =
                clean::integer(row.get(REPORTER_ID)).and_then(|u| importer.users.get(&u).copied())
            else {
                reject(
                    &mut batch,
                    format!(
                        "orphan: reporter {} was not imported",
                        row.get(REPORTER_ID).unwrap_or("NULL")
                    ),
                );
                continue;
            };
            let target_legacy = clean::integer(row.get(TARGET_ID));
            let kind = clean::key(row.get(TARGET_TYPE));
            let target: Option<(&'static str, Uuid, Option<Uuid>)> =
                match (kind.as_deref(), target_legacy) {
                    (Some("campaign"), Some(t)) => importer
                        .campaigns
                        .get(&t)
                        .map(|c| ("CAMPAIGN", c.id, Some(c.organizer))),
                    (Some("challenge"), Some(t)) => importer
                        .challenges
                        .get(&t)
                        .map(|c| ("CHALLENGE", c.id, Some(c.organizer))),
                    (Some("user"), Some(t)) => {
                        importer.users.get(&t).map(|u| ("USER", *u, Some(*u)))
                    }
                    (Some("submission" | "participation"), Some(t)) => importer
                        .participations
                        .get(&t)
                        .map(|p| ("SUBMISSION", p.id, Some(p.user))),
                    (
                        Some("campaign" | "challenge" | "user" | "submission" | "participation"),
                        None,
                    ) => None,
                    (other, _) => {
                        reject(
                            &mut batch,
                            format!(
                                "unknown target_type `{}`",
                                clean::short(other.unwrap_or("NULL"))
                            ),
                        );
                        continue;
                    }
                };
            let Some((target_type, target_id, owner)) = target else {
                reject(
                    &mut batch,
                    format!(
                        "orphan: its target ({} {}) does not exist or was not imported",
                        kind.as_deref().unwrap_or("?"),
                        row.get(TARGET_ID).unwrap_or("NULL")
                    ),
                );
                continue;
            };
            let status = match clean::key(row.get(STATUS)).as_deref() {
                Some("open" | "reviewing" | "new" | "pending") => "OPEN",
                Some("resolved") => "RESOLVED",
                Some("dismissed" | "rejected") => "DISMISSED",
                other => {
                    reject(
                        &mut batch,
                        format!("unknown status `{}`", clean::short(other.unwrap_or("NULL"))),
                    );
                    continue;
                }
            };
            let Some(created) = first_time(&[row.get(CREATED_AT), row.get(HANDLED_AT)]) else {
                reject(
                    &mut batch,
                    "no creation time: created_at and handled_at are NULL, zero or unreadable"
                        .to_owned(),
                );
                continue;
            };
            let (reason, free_text) = reason(row.get(REASON));
            let mut note = row
                .get(NOTE)
                .map(|n| clean::text(n, NOTE_MAX, true).0)
                .filter(|n| !n.is_empty());
            if let Some(free_text) = free_text {
                batch.note("reports: free-text reason kept in the note");
                let joined = match note {
                    Some(note) => format!("Legacy reason: {free_text}\n{note}"),
                    None => format!("Legacy reason: {free_text}"),
                };
                note = Some(clean::text(&joined, NOTE_MAX, true).0);
            }
            let handled_by =
                clean::integer(row.get(HANDLED_BY)).and_then(|u| importer.users.get(&u).copied());
            let handled_at = clean::jakarta_time(row.get(HANDLED_AT)).at();
            let id = clean::stable_id(Self::NAME, row.id, Some(created));
            if status == "OPEN"
                && !importer
                    .open_reports
                    .insert((reporter, target_type, target_id))
            {
                // One OPEN report per reporter and target (a unique index): the first stands.
                batch.merges.push(Merge {
                    legacy_id: row.id,
                    into_id: format!("{reporter}/{target_type}/{target_id}"),
                    reason: "a second open report of the same target by the same reporter"
                        .to_owned(),
                    paid: None,
                });
                continue;
            }
            batch.push(
                &reports,
                vec![
                    text(id.to_string()),
                    int(row.id),
                    text(reporter.to_string()),
                    text(target_type),
                    text(target_id.to_string()),
                    opt_text(owner.map(|o| o.to_string())),
                    text(reason),
                    opt_text(note),
                    text(status),
                    opt_text(handled_by.map(|h| h.to_string())),
                    opt_time(handled_at),
                    opt_text((status != "OPEN").then(|| "Handled in the legacy system".to_owned())),
                    boolean(false),
                    time(created),
                ],
            );
        }
        Ok(batch)
    }
}

/// The new system's reason, and the legacy text when it was not one of the known ones.
fn reason(raw: Option<&str>) -> (&'static str, Option<String>) {
    let original = raw
        .map(|r| clean::text(r, 200, false).0)
        .unwrap_or_default();
    let key = original.to_lowercase();
    let known = match key.trim_end_matches(['!', '.', '?']) {
        "spam" => Some("SPAM"),
        "fraud" | "penipuan" | "scam" => Some("FRAUD"),
        "inappropriate" | "konten tidak pantas" => Some("INAPPROPRIATE"),
        "misinformation" | "hoax" | "hoaks" => Some("MISINFORMATION"),
        "other" | "lainnya" | "" => Some("OTHER"),
        _ => None,
    };
    match known {
        Some(reason) => (reason, None),
        None => ("OTHER", Some(original)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reasons_are_normalised() {
        assert_eq!(super::reason(Some("SPAM")), ("SPAM", None));
        assert_eq!(super::reason(Some("penipuan!!")), ("FRAUD", None));
        assert_eq!(
            super::reason(Some("konten tidak pantas")),
            ("INAPPROPRIATE", None)
        );
        assert_eq!(
            super::reason(Some("weird stuff")),
            ("OTHER", Some("weird stuff".to_owned()))
        );
    }
}
