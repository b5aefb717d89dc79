//! `campaigns` → the campaigns domain (and the reports domain's `campaign_states`).
//! The totals (`raised_minor`, donor and participant counts) are recomputed at the end
//! from the donations and participations, never taken from the monolith's figure.

use gerak_actors::Domain;

use super::{LegacyTable, creation_time, first_time};
use crate::{
    CampaignRef, Importer, LegacyError,
    batch::{Batch, Insert, SqlValue as Value, boolean, int, opt_text, opt_time, text, time},
    clean,
    source::LegacyRow,
};

pub struct Campaigns;

const TITLE: usize = 0;
const SLUG: usize = 1;
const DESCRIPTION: usize = 2;
const BANNER_URL: usize = 3;
const ORGANIZER_ID: usize = 4;
const STATUS: usize = 5;
const GOAL_AMOUNT: usize = 6;
const RAISED_AMOUNT: usize = 7;
const CURRENCY: usize = 8;
const START_AT: usize = 9;
const END_AT: usize = 10;
const CREATED_AT: usize = 11;
const UPDATED_AT: usize = 12;
const DELETED_AT: usize = 13;

const CAMPAIGN_COLUMNS: &[&str] = &[
    "id",
    "legacy_id",
    "slug",
    "title",
    "description",
    "banner_url",
    "status",
    "goal_minor",
    "currency",
    "starts_at",
    "ends_at",
    "hidden",
    "organizer_id",
    "created_at",
    "updated_at",
];
const STATE_COLUMNS: &[&str] = &["campaign_id", "status"];
const SLUG_MAX: usize = 120;

impl LegacyTable for Campaigns {
    const NAME: &'static str = "campaigns";
    const COLUMNS: &'static [&'static str] = &[
        "title",
        "slug",
        "description",
        "banner_url",
        "organizer_id",
        "status",
        "goal_amount",
        "raised_amount",
        "currency",
        "start_at",
        "end_at",
        "created_at",
        "updated_at",
        "deleted_at",
    ];
    const DOMAIN: Domain = Domain::Campaigns;

    fn observe(importer: &mut Importer, rows: &[LegacyRow]) {
        for row in rows {
            if let Ok(currency) = clean::currency(row.get(CURRENCY))
                && let Ok(raised) = clean::money(row.get(RAISED_AMOUNT), currency)
            {
                importer.legacy_raised.insert(row.id, raised.minor);
            }
        }
    }

    async fn prepare(
        importer: &mut Importer,
        rows: &[LegacyRow],
        _again: bool,
    ) -> Result<Batch, LegacyError> {
        let campaigns = Insert::new("campaigns", CAMPAIGN_COLUMNS).upsert(
            &["legacy_id"],
            &[
                "title",
                "description",
                "banner_url",
                "status",
                "goal_minor",
                "starts_at",
                "ends_at",
                "hidden",
                "updated_at",
            ],
        );
        let states =
            Insert::new("campaign_states", STATE_COLUMNS).upsert(&["campaign_id"], &["status"]);
        let mut batch = Batch::default();
        for row in rows {
            let reject =
                |batch: &mut Batch, reason: String| batch.reject(row, Self::COLUMNS, reason, None);
            let created = creation_time(
                &mut batch,
                "campaigns: no creation time (created_at, start_at, updated_at NULL or zero), imported as 1970-01-01",
                &[row.get(CREATED_AT), row.get(START_AT), row.get(UPDATED_AT)],
            );
            let organizer_legacy = clean::integer(row.get(ORGANIZER_ID));
            let Some(organizer) = organizer_legacy.and_then(|o| importer.users.get(&o).copied())
            else {
                reject(
                    &mut batch,
                    format!(
                        "organizer {} was not imported (missing or rejected)",
                        row.get(ORGANIZER_ID).unwrap_or("NULL")
                    ),
                );
                continue;
            };
            let currency = match clean::currency(row.get(CURRENCY)) {
                Ok(currency) => currency,
                Err(reason) => {
                    reject(&mut batch, reason);
                    continue;
                }
            };
            let (title, fixes) = clean::text(row.get(TITLE).unwrap_or(""), 200, false);
            for note in fixes.notes() {
                batch.note(note);
            }
            if title.is_empty() {
                reject(&mut batch, "no title".to_owned());
                continue;
            }
            let (description, fixes) =
                clean::text(row.get(DESCRIPTION).unwrap_or(""), 10_000, true);
            for note in fixes.notes() {
                batch.note(note);
            }
            let deleted = clean::jakarta_time(row.get(DELETED_AT)) != clean::Stamp::Missing;
            let status = match clean::key(row.get(STATUS)).as_deref() {
                _ if deleted => "ARCHIVED",
                Some("draft") => "DRAFT",
                Some("active") => "ACTIVE",
                Some("ended") => "ENDED",
                Some("archived") => "ARCHIVED",
                _ => {
                    batch.note("campaigns: unknown status imported as DRAFT");
                    "DRAFT"
                }
            };
            let goal = match row.get(GOAL_AMOUNT) {
                None => None,
                Some(raw) => match clean::money(Some(raw), currency) {
                    Ok(goal) if goal.minor > 0 => Some(goal.minor),
                    _ => {
                        batch.note("campaigns: goal that is no positive amount dropped");
                        None
                    }
                },
            };
            let starts = clean::jakarta_time(row.get(START_AT)).at();
            let mut ends = clean::jakarta_time(row.get(END_AT)).at();
            if let (Some(s), Some(e)) = (starts, ends)
                && e < s
            {
                batch.note("campaigns: end before start, end dropped");
                ends = None;
            }
            let updated = first_time(&[row.get(UPDATED_AT)])
                .unwrap_or(created)
                .max(created);
            let existing = importer.campaigns.get(&row.id).copied();
            let id = existing.map_or_else(
                || clean::stable_id(Self::NAME, row.id, Some(created)),
                |c| c.id,
            );
            // The slug of an imported campaign never changes (links to it must keep working).
            let slug = if existing.is_some() {
                String::new()
            } else {
                let slug = unique_slug(importer, row.get(SLUG), &title, row.id);
                importer.slugs.insert(slug.clone());
                slug
            };
            importer.campaigns.insert(
                row.id,
                CampaignRef {
                    id,
                    organizer,
                    currency,
                },
            );
            batch.push(
                &campaigns,
                vec![
                    text(id.to_string()),
                    int(row.id),
                    text(if slug.is_empty() {
                        format!("legacy-{}", row.id)
                    } else {
                        slug
                    }),
                    text(title),
                    text(description),
                    opt_text(clean::url(row.get(BANNER_URL))),
                    text(status),
                    Value::BigInt(goal),
                    text(currency.code()),
                    opt_time(starts),
                    opt_time(ends),
                    // Soft-deleted in the monolith: kept (its money with it) but hidden.
                    boolean(deleted),
                    text(organizer.to_string()),
                    time(created),
                    time(updated),
                ],
            );
            batch.push_secondary(
                Domain::Reports,
                &states,
                vec![text(id.to_string()), text(status)],
            );
        }
        Ok(batch)
    }
}

/// Lower-case letters, digits and single dashes, unique: a repeated slug gets the legacy
/// id appended.
fn unique_slug(importer: &Importer, raw: Option<&str>, title: &str, legacy_id: i64) -> String {
    let base = slugify(raw.filter(|s| !s.trim().is_empty()).unwrap_or(title));
    let base = if base.is_empty() {
        format!("campaign-{legacy_id}")
    } else {
        base
    };
    if !importer.slugs.contains(&base) {
        return base;
    }
    let suffix = format!("-{legacy_id}");
    let cut: String = base.chars().take(SLUG_MAX - suffix.len()).collect();
    let candidate = format!("{}{suffix}", cut.trim_end_matches('-'));
    if !importer.slugs.contains(&candidate) {
        return candidate;
    }
    format!("legacy-campaign-{legacy_id}")
}

fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.chars().take(SLUG_MAX).collect();
    slug.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_plain() {
        assert_eq!(super::slugify("Tanam Pohon 2021!"), "tanam-pohon-2021");
        assert_eq!(super::slugify("  --a--b-- "), "a-b");
    }
}
