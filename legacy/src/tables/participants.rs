//! `challenge_participants` → the challenges domain's participations (and the campaigns
//! domain's members, the reports domain's `participation_states`).

use gerak_actors::Domain;

use super::{LegacyTable, first_time};
use crate::{
    Importer, LegacyError, ParticipationRef,
    batch::{Batch, Insert, Merge, boolean, int, opt_text, opt_time, text, time},
    clean,
    source::LegacyRow,
};

pub struct Participants;

const CHALLENGE_ID: usize = 0;
const USER_ID: usize = 1;
const STATUS: usize = 2;
const PROOF_URL: usize = 3;
const SUBMITTED_AT: usize = 4;
const REVIEWED_AT: usize = 5;
const CREATED_AT: usize = 6;

const PARTICIPATION_COLUMNS: &[&str] = &[
    "id",
    "legacy_id",
    "challenge_id",
    "campaign_id",
    "user_id",
    "status",
    "proof_url",
    "submitted_at",
    "reviewed_at",
    "hidden",
    "created_at",
    "updated_at",
];
const STATE_COLUMNS: &[&str] = &["participation_id", "challenge_id", "status"];

impl LegacyTable for Participants {
    const NAME: &'static str = "challenge_participants";
    const COLUMNS: &'static [&'static str] = &[
        "challenge_id",
        "user_id",
        "status",
        "proof_url",
        "submitted_at",
        "reviewed_at",
        "created_at",
    ];
    const DOMAIN: Domain = Domain::Challenges;

    async fn prepare(
        importer: &mut Importer,
        rows: &[LegacyRow],
        _again: bool,
    ) -> Result<Batch, LegacyError> {
        let participations = Insert::new("participations", PARTICIPATION_COLUMNS)
            .upsert(
                &["legacy_id"],
                &[
                    "status",
                    "proof_url",
                    "submitted_at",
                    "reviewed_at",
                    "updated_at",
                ],
            )
            .batch_owned();
        let members = importer.members_insert();
        let states = Insert::new("participation_states", STATE_COLUMNS)
            .upsert(&["participation_id"], &["status"]);
        let mut batch = Batch::default();
        for row in rows {
            if importer.merged.contains(&(Self::NAME, row.id)) {
                continue;
            }
            let reject =
                |batch: &mut Batch, reason: String| batch.reject(row, Self::COLUMNS, reason, None);
            let Some(challenge) = clean::integer(row.get(CHALLENGE_ID))
                .and_then(|c| importer.challenges.get(&c).copied())
            else {
                reject(
                    &mut batch,
                    format!(
                        "orphan: challenge {} was not imported (missing or rejected)",
                        row.get(CHALLENGE_ID).unwrap_or("NULL")
                    ),
                );
                continue;
            };
            let Some(user) =
                clean::integer(row.get(USER_ID)).and_then(|u| importer.users.get(&u).copied())
            else {
                reject(
                    &mut batch,
                    format!(
                        "orphan: user {} was not imported (missing or rejected)",
                        row.get(USER_ID).unwrap_or("NULL")
                    ),
                );
                continue;
            };
            let status = match clean::key(row.get(STATUS)).as_deref() {
                Some("joined") => "JOINED",
                Some("submitted") => "SUBMITTED",
                Some("approved") => "APPROVED",
                Some("rejected") => "REJECTED",
                other => {
                    reject(
                        &mut batch,
                        format!("unknown status `{}`", clean::short(other.unwrap_or("NULL"))),
                    );
                    continue;
                }
            };
            let submitted = clean::jakarta_time(row.get(SUBMITTED_AT)).at();
            let reviewed = clean::jakarta_time(row.get(REVIEWED_AT)).at();
            let Some(created) = first_time(&[
                row.get(CREATED_AT),
                row.get(SUBMITTED_AT),
                row.get(REVIEWED_AT),
            ]) else {
                reject(&mut batch, "no creation time: created_at, submitted_at and reviewed_at are NULL, zero or unreadable".to_owned());
                continue;
            };
            let existing = importer.participations.get(&row.id).copied();
            let id = existing.map_or_else(
                || clean::stable_id(Self::NAME, row.id, Some(created)),
                |p| p.id,
            );
            if let Some(first) = importer.pairs.get(&(challenge.id, user)).copied()
                && first != id
            {
                // Joined the same challenge twice: one participation per user and challenge
                // in the new system; the first stands, its sponsor matches keep pointing to it.
                importer.participations.insert(
                    row.id,
                    ParticipationRef {
                        id: first,
                        user,
                        challenge: challenge.id,
                    },
                );
                batch.merges.push(Merge {
                    legacy_id: row.id,
                    into_id: first.to_string(),
                    reason: "the same user joined the same challenge again".to_owned(),
                    paid: None,
                });
                continue;
            }
            importer.pairs.insert((challenge.id, user), id);
            importer.participations.insert(
                row.id,
                ParticipationRef {
                    id,
                    user,
                    challenge: challenge.id,
                },
            );
            let updated = [Some(created), submitted, reviewed]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(created);
            batch.push(
                &participations,
                vec![
                    text(id.to_string()),
                    int(row.id),
                    text(challenge.id.to_string()),
                    text(challenge.campaign.to_string()),
                    text(user.to_string()),
                    text(status),
                    opt_text(clean::url(row.get(PROOF_URL))),
                    opt_time(submitted),
                    opt_time(reviewed),
                    boolean(false),
                    time(created),
                    time(updated),
                ],
            );
            importer.push_member(
                &mut batch,
                &members,
                (challenge.campaign, "participant", user),
                created,
            );
            batch.push_secondary(
                Domain::Reports,
                &states,
                vec![
                    text(id.to_string()),
                    text(challenge.id.to_string()),
                    text(status),
                ],
            );
        }
        Ok(batch)
    }
}
