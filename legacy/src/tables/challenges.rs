//! `challenges` → the challenges domain.

use gerak_actors::Domain;

use super::{LegacyTable, creation_time, first_time};
use crate::{
    ChallengeRef, Importer, LegacyError,
    batch::{Batch, Insert, boolean, int, opt_int32, opt_text, opt_time, text, time},
    clean,
    source::LegacyRow,
};

pub struct Challenges;

const CAMPAIGN_ID: usize = 0;
const TITLE: usize = 1;
const DESCRIPTION: usize = 2;
const ACTION_TYPE: usize = 3;
const REWARD: usize = 4;
const SPONSOR_ID: usize = 5;
const QUOTA: usize = 6;
const STATUS: usize = 7;
const START_AT: usize = 8;
const END_AT: usize = 9;
const CREATED_AT: usize = 10;
const UPDATED_AT: usize = 11;
const DELETED_AT: usize = 12;

const CHALLENGE_COLUMNS: &[&str] = &[
    "id",
    "legacy_id",
    "campaign_id",
    "title",
    "description",
    "action_type",
    "reward_minor",
    "currency",
    "sponsor_id",
    "quota",
    "status",
    "hidden",
    "starts_at",
    "ends_at",
    "created_at",
    "updated_at",
];

impl LegacyTable for Challenges {
    const NAME: &'static str = "challenges";
    const COLUMNS: &'static [&'static str] = &[
        "campaign_id",
        "title",
        "description",
        "action_type",
        "reward_per_action",
        "sponsor_id",
        "quota",
        "status",
        "start_at",
        "end_at",
        "created_at",
        "updated_at",
        "deleted_at",
    ];
    const DOMAIN: Domain = Domain::Challenges;

    async fn prepare(
        importer: &mut Importer,
        rows: &[LegacyRow],
        _again: bool,
    ) -> Result<Batch, LegacyError> {
        let challenges = Insert::new("challenges", CHALLENGE_COLUMNS).upsert(
            &["legacy_id"],
            &[
                "title",
                "description",
                "action_type",
                "sponsor_id",
                "quota",
                "status",
                "hidden",
                "starts_at",
                "ends_at",
                "updated_at",
            ],
        );
        let mut batch = Batch::default();
        for row in rows {
            let reject =
                |batch: &mut Batch, reason: String| batch.reject(row, Self::COLUMNS, reason, None);
            let campaign_legacy = clean::integer(row.get(CAMPAIGN_ID));
            let Some(campaign) = campaign_legacy.and_then(|c| importer.campaigns.get(&c).copied())
            else {
                reject(
                    &mut batch,
                    format!(
                        "orphan: campaign {} was not imported (hard-deleted or rejected)",
                        row.get(CAMPAIGN_ID).unwrap_or("NULL")
                    ),
                );
                continue;
            };
            let created = creation_time(
                &mut batch,
                "challenges: no creation time (created_at, start_at, updated_at NULL or zero), imported as 1970-01-01",
                &[row.get(CREATED_AT), row.get(START_AT), row.get(UPDATED_AT)],
            );
            let reward = match clean::money(row.get(REWARD), campaign.currency) {
                Ok(reward) if reward.minor > 0 => reward,
                Ok(_) => {
                    reject(&mut batch, "reward_per_action is not positive".to_owned());
                    continue;
                }
                Err(reason) => {
                    reject(&mut batch, format!("reward_per_action: {reason}"));
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
            let action = match clean::key(row.get(ACTION_TYPE)).as_deref() {
                Some("photo") => "PHOTO",
                Some("video") => "VIDEO",
                Some("quiz") => "QUIZ",
                Some("share") => "SHARE",
                Some("check_in" | "check-in" | "checkin") => "CHECK_IN",
                _ => {
                    // Proof by photo is what most challenges asked for; an admin can change it.
                    batch.note("challenges: missing or unknown action_type imported as PHOTO");
                    "PHOTO"
                }
            };
            let sponsor = match clean::integer(row.get(SPONSOR_ID)) {
                None => None,
                Some(legacy) => {
                    let found = importer.users.get(&legacy).copied();
                    if found.is_none() {
                        batch.note(
                            "challenges: sponsor not imported, challenge kept without sponsor",
                        );
                    }
                    found
                }
            };
            let quota = match row.get(QUOTA) {
                None => None,
                Some(raw) => match clean::integer(Some(raw))
                    .and_then(|q| i32::try_from(q).ok())
                    .filter(|q| *q >= 0)
                {
                    Some(q) => Some(q),
                    None => {
                        batch.note("challenges: unreadable quota imported as unlimited");
                        None
                    }
                },
            };
            let deleted = clean::jakarta_time(row.get(DELETED_AT)) != clean::Stamp::Missing;
            let status = match clean::key(row.get(STATUS)).as_deref() {
                _ if deleted => "CLOSED",
                Some("draft") => "DRAFT",
                Some("active") => "ACTIVE",
                Some("closed" | "ended") => "CLOSED",
                _ => {
                    batch.note("challenges: unknown status imported as DRAFT");
                    "DRAFT"
                }
            };
            let starts = clean::jakarta_time(row.get(START_AT)).at();
            let mut ends = clean::jakarta_time(row.get(END_AT)).at();
            if let (Some(s), Some(e)) = (starts, ends)
                && e < s
            {
                batch.note("challenges: end before start, end dropped");
                ends = None;
            }
            let updated = first_time(&[row.get(UPDATED_AT)])
                .unwrap_or(created)
                .max(created);
            let id = importer.challenges.get(&row.id).map_or_else(
                || clean::stable_id(Self::NAME, row.id, Some(created)),
                |c| c.id,
            );
            importer.challenges.insert(
                row.id,
                ChallengeRef {
                    id,
                    campaign: campaign.id,
                    organizer: campaign.organizer,
                },
            );
            batch.push(
                &challenges,
                vec![
                    text(id.to_string()),
                    int(row.id),
                    text(campaign.id.to_string()),
                    text(title),
                    text(description),
                    text(action),
                    int(reward.minor),
                    text(campaign.currency.code()),
                    opt_text(sponsor.map(|s| s.to_string())),
                    opt_int32(quota),
                    text(status),
                    boolean(deleted),
                    opt_time(starts),
                    opt_time(ends),
                    time(created),
                    time(updated),
                ],
            );
        }
        Ok(batch)
    }
}
