//! `donations` → the donations domain: donations and their ledger movements (and the
//! campaigns domain's donor members). Retried webhooks (the same `payment_ref` again) are
//! merged into the first; `REFUND-<ref>` rows with a negative amount become refunds of
//! the donation they name.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use gerak_actors::{Domain, money::Money};
use sea_orm::{ConnectionTrait, Statement, Value};
use uuid::Uuid;

use super::{LegacyTable, first_time};
use crate::{
    HashMap, Importer, LegacyError,
    batch::{Batch, Insert, Merge, Reject, boolean, int, opt_text, opt_time, text, time},
    clean,
    source::LegacyRow,
    state::placeholders,
};

pub struct Donations;

const DONOR_ID: usize = 0;
const CAMPAIGN_ID: usize = 1;
const CHALLENGE_ID: usize = 2;
const PARTICIPANT_ID: usize = 3;
const KIND: usize = 4;
const AMOUNT: usize = 5;
const CURRENCY: usize = 6;
const PAYMENT_REF: usize = 7;
const STATUS: usize = 8;
const CREATED_AT: usize = 9;
const UPDATED_AT: usize = 10;

const DONATION_COLUMNS: &[&str] = &[
    "id",
    "legacy_id",
    "kind",
    "status",
    "amount_minor",
    "refunded_minor",
    "currency",
    "donor_id",
    "anonymous",
    "campaign_id",
    "challenge_id",
    "participation_id",
    "payment_ref",
    "created_at",
    "paid_at",
    "updated_at",
];
const LEDGER_COLUMNS: &[&str] = &[
    "id",
    "movement_id",
    "owner_type",
    "owner_id",
    "currency",
    "amount_minor",
    "donation_id",
    "description",
    "occurred_at",
];
const REFUND_PREFIX: &str = "REFUND-";

/// A donation as it stands in the target, or as this run wrote it. One is kept per
/// donation for the whole run (refunds and retried webhooks find theirs by reference), so
/// ids are kept as UUIDs and codes as the constants they are, not as strings of their own.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    id: Uuid,
    legacy_id: Option<i64>,
    kind: Cow<'static, str>,
    status: Cow<'static, str>,
    amount: i64,
    refunded: i64,
    currency: Cow<'static, str>,
    donor: Option<Uuid>,
    campaign: Uuid,
}

/// `value` as one of the `constants` it equals, or as a string of its own.
fn code(value: String, constants: &[&'static str]) -> Cow<'static, str> {
    match constants.iter().find(|c| **c == value) {
        Some(constant) => Cow::Borrowed(constant),
        None => Cow::Owned(value),
    }
}

const KINDS: &[&str] = &["DIRECT", "SPONSOR_MATCH"];
const STATUSES: &[&str] = &["PAID", "PENDING", "FAILED", "REFUNDED"];

impl LegacyTable for Donations {
    const NAME: &'static str = "donations";
    const COLUMNS: &'static [&'static str] = &[
        "donor_id",
        "campaign_id",
        "challenge_id",
        "participant_id",
        "kind",
        "amount",
        "currency",
        "payment_ref",
        "status",
        "created_at",
        "updated_at",
    ];
    const DOMAIN: Domain = Domain::Donations;

    fn observe(importer: &mut Importer, rows: &[LegacyRow]) {
        for row in rows {
            if clean::key(row.get(STATUS)).as_deref() != Some("paid") {
                continue;
            }
            match paid_money(row) {
                Some(money) => {
                    *importer
                        .legacy_paid
                        .entry(money.currency.code())
                        .or_default() += money.minor
                }
                None => importer.unreadable_paid_rows += 1,
            }
        }
    }

    async fn prepare(
        importer: &mut Importer,
        rows: &[LegacyRow],
        _again: bool,
    ) -> Result<Batch, LegacyError> {
        let donations = Insert::new("donations", DONATION_COLUMNS)
            .ignore(&["legacy_id"])
            .batch_owned();
        let ledger = Insert::new("ledger_entries", LEDGER_COLUMNS)
            .ignore(&["id"])
            .batch_owned();
        let members = importer.members_insert();
        let err = Importer::write_err(Domain::Donations);
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(Batch::default());
        };
        // This run's donations are in `known_donations` (written or still being written);
        // the rest are looked up among those earlier runs committed.
        // (On a first import there are none: the queries are skipped.)
        let db = importer.db(Domain::Donations).clone();
        let before = match importer.donations_before_run {
            Some(before) => before,
            None => {
                let before = any_donation(&db).await.map_err(&err)?;
                importer.donations_before_run = Some(before);
                before
            }
        };
        let (earlier, by_legacy) = if before {
            let mut refs: Vec<String> = Vec::new();
            for row in rows {
                let reference = payment_ref(row);
                if let Some(original) = reference.strip_prefix(REFUND_PREFIX) {
                    refs.push(original.to_owned());
                }
                refs.push(reference);
            }
            refs.retain(|r| !importer.known_donations.contains_key(r));
            refs.sort_unstable();
            refs.dedup();
            let earlier = known_by_ref(&db, &refs).await.map_err(&err)?;
            let by_legacy = known_by_legacy(&db, first.id, last.id)
                .await
                .map_err(&err)?;
            (earlier, by_legacy)
        } else {
            (HashMap::default(), HashMap::default())
        };
        let mut by_ref = std::mem::take(&mut importer.known_donations);
        by_ref.extend(earlier);

        let mut batch = Batch::default();
        for row in rows {
            if importer.merged.contains(&(Self::NAME, row.id)) {
                continue;
            }
            let paid = (clean::key(row.get(STATUS)).as_deref() == Some("paid"))
                .then(|| paid_money(row))
                .flatten();
            let reject =
                |batch: &mut Batch, reason: String| batch.reject(row, Self::COLUMNS, reason, paid);
            let reference = payment_ref(row);
            let currency = match clean::currency(row.get(CURRENCY)) {
                Ok(currency) => currency,
                Err(reason) => {
                    reject(&mut batch, reason);
                    continue;
                }
            };
            let amount = match clean::money(row.get(AMOUNT), currency) {
                Ok(amount) => amount,
                Err(reason) => {
                    reject(&mut batch, reason);
                    continue;
                }
            };
            let stamp = first_time(&[row.get(CREATED_AT), row.get(UPDATED_AT)]);
            if let Some(original_ref) = reference
                .strip_prefix(REFUND_PREFIX)
                .map(str::to_owned)
                .or_else(|| (amount.minor < 0).then(|| reference.clone()))
            {
                refund(
                    &mut batch,
                    row,
                    &mut by_ref,
                    &original_ref,
                    amount,
                    paid,
                    stamp,
                    &ledger,
                );
                continue;
            }
            if let Some(known) = by_legacy.get(&row.id) {
                update(&mut batch, row, known, stamp, &ledger, &mut by_ref);
                continue;
            }
            let status = match clean::key(row.get(STATUS)).as_deref() {
                Some("paid") => "PAID",
                Some("pending") => "PENDING",
                Some("failed") => "FAILED",
                Some("refunded") => "REFUNDED",
                other => {
                    reject(
                        &mut batch,
                        format!("unknown status `{}`", clean::short(other.unwrap_or("NULL"))),
                    );
                    continue;
                }
            };
            if amount.minor <= 0 {
                reject(&mut batch, "amount is not positive".to_owned());
                continue;
            }
            if let Some(first) = by_ref.get(&reference) {
                let same = first.amount == amount.minor
                    && first.currency == currency.code()
                    && first.status == status;
                if same {
                    // A retried webhook: the payment happened once.
                    batch.merges.push(Merge {
                        legacy_id: row.id,
                        into_id: first.id.to_string(),
                        reason: format!("retried payment webhook: same payment_ref {reference} as legacy donation {}", first.legacy_id.map_or("?".to_owned(), |l| l.to_string())),
                        paid,
                    });
                } else {
                    reject(
                        &mut batch,
                        format!(
                            "payment_ref {reference} was already used by a donation with another amount or status: needs a person to decide"
                        ),
                    );
                }
                continue;
            }
            let Some(campaign) = clean::integer(row.get(CAMPAIGN_ID))
                .and_then(|c| importer.campaigns.get(&c).copied())
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
            if campaign.currency != currency {
                reject(
                    &mut batch,
                    format!(
                        "currency {} differs from its campaign's {}",
                        currency.code(),
                        campaign.currency.code()
                    ),
                );
                continue;
            }
            let created = match stamp {
                Some(created) => created,
                None => {
                    batch.note("donations: no creation time (created_at, updated_at NULL or zero), imported as 1970-01-01");
                    chrono::DateTime::UNIX_EPOCH
                }
            };
            let donor = match clean::integer(row.get(DONOR_ID)) {
                None => None,
                Some(legacy) => {
                    let found = importer.users.get(&legacy).copied();
                    if found.is_none() {
                        batch.note("donations: donor not imported, donation kept without donor");
                    }
                    found
                }
            };
            let mut challenge = clean::integer(row.get(CHALLENGE_ID))
                .and_then(|c| importer.challenges.get(&c).copied());
            if challenge.is_some_and(|c| c.campaign != campaign.id) {
                batch.note("donations: challenge of another campaign, link dropped");
                challenge = None;
            }
            let mut participation = clean::integer(row.get(PARTICIPANT_ID))
                .and_then(|p| importer.participations.get(&p).copied());
            if let Some(p) = participation
                && (importer.matched_participations.contains(&p.id)
                    || challenge.is_none_or(|c| c.id != p.challenge))
            {
                // One sponsor match per participation in the new system (a unique index):
                // a second match keeps its challenge and its money, not the participation.
                batch.note("donations: second sponsor match of a participation kept without the participation link");
                participation = None;
            }
            let kind = match clean::key(row.get(KIND)).as_deref() {
                Some("direct") => "DIRECT",
                Some("sponsor_match" | "sponsor-match" | "match") => "SPONSOR_MATCH",
                _ => {
                    batch.note("donations: unknown kind inferred from the challenge link");
                    if row.get(CHALLENGE_ID).is_some() {
                        "SPONSOR_MATCH"
                    } else {
                        "DIRECT"
                    }
                }
            };
            let id = clean::stable_id(Self::NAME, row.id, Some(created));
            if let Some(p) = participation {
                importer.matched_participations.insert(p.id);
            }
            let money_moved = status == "PAID" || status == "REFUNDED";
            let refunded = if status == "REFUNDED" {
                amount.minor
            } else {
                0
            };
            let updated = first_time(&[row.get(UPDATED_AT)])
                .unwrap_or(created)
                .max(created);
            batch.push(
                &donations,
                vec![
                    text(id.to_string()),
                    int(row.id),
                    text(kind),
                    text(status),
                    int(amount.minor),
                    int(refunded),
                    text(currency.code()),
                    opt_text(donor.map(|d| d.to_string())),
                    boolean(donor.is_none()),
                    text(campaign.id.to_string()),
                    opt_text(challenge.map(|c| c.id.to_string())),
                    opt_text(participation.map(|p| p.id.to_string())),
                    text(reference.clone()),
                    time(created),
                    opt_time(money_moved.then_some(created)),
                    time(updated),
                ],
            );
            let known = Known {
                id,
                legacy_id: Some(row.id),
                kind: Cow::Borrowed(kind),
                status: Cow::Borrowed(status),
                amount: amount.minor,
                refunded,
                currency: Cow::Borrowed(currency.code()),
                donor,
                campaign: campaign.id,
            };
            if money_moved {
                for leg in payment_legs(&known, row.id, &reference, created) {
                    batch.push(&ledger, leg);
                }
                if let Some(donor) = donor {
                    importer.push_member(
                        &mut batch,
                        &members,
                        (campaign.id, "donor", donor),
                        created,
                    );
                }
            }
            if refunded > 0 {
                for leg in refund_legs(&known, row.id, "status", refunded, updated) {
                    batch.push(&ledger, leg);
                }
            }
            by_ref.insert(reference, known);
        }
        importer.known_donations = by_ref;
        Ok(batch)
    }
}

/// The money a `paid` legacy row counted (negative for a refund row), if readable.
fn paid_money(row: &LegacyRow) -> Option<Money> {
    let currency = clean::currency(row.get(CURRENCY)).ok()?;
    clean::money(row.get(AMOUNT), currency).ok()
}

fn payment_ref(row: &LegacyRow) -> String {
    let (reference, _) = clean::text(row.get(PAYMENT_REF).unwrap_or(""), 64, false);
    if reference.is_empty() {
        format!("LEGACY-{}", row.id)
    } else {
        reference
    }
}

/// A `REFUND-<ref>` row (or any negative amount): a refund of the donation it names.
#[allow(clippy::too_many_arguments)]
fn refund(
    batch: &mut Batch,
    row: &LegacyRow,
    by_ref: &mut HashMap<String, Known>,
    original_ref: &str,
    amount: Money,
    paid: Option<Money>,
    stamp: Option<DateTime<Utc>>,
    ledger: &Insert,
) {
    let columns = Donations::COLUMNS;
    let Some(original) = by_ref.get_mut(original_ref) else {
        batch.reject(
            row,
            columns,
            format!("refund of payment {original_ref}, which was not imported"),
            paid,
        );
        return;
    };
    let refund = amount.minor.abs();
    if original.currency != amount.currency.code() {
        batch.reject(
            row,
            columns,
            "refund in another currency than its donation",
            paid,
        );
        return;
    }
    if refund == 0 {
        batch.reject(row, columns, "refund of zero", paid);
        return;
    }
    match original.status.as_ref() {
        "REFUNDED" if original.refunded == original.amount => {
            // The monolith marked the donation refunded and recorded the refund as a row
            // too: the donation is imported fully refunded already.
            batch.merges.push(Merge {
                legacy_id: row.id,
                into_id: original.id.to_string(),
                reason: format!(
                    "refund row of {original_ref}, whose donation was already marked refunded"
                ),
                paid,
            });
        }
        "PAID" | "REFUNDED" if refund <= original.amount - original.refunded => {
            let at = stamp.unwrap_or_else(Utc::now);
            original.refunded += refund;
            let full = original.refunded == original.amount;
            if full {
                original.status = Cow::Borrowed("REFUNDED");
            }
            for leg in refund_legs(original, row.id, "row", refund, at) {
                batch.push(ledger, leg);
            }
            let (key, key_value) = donation_key(original);
            batch.primary_statements.push(statement(
                &format!("UPDATE donations SET refunded_minor = refunded_minor + ?, status = CASE WHEN refunded_minor + ? = amount_minor THEN 'REFUNDED' ELSE status END, updated_at = ? WHERE {key} = ?"),
                vec![
                    Value::from(refund),
                    Value::from(refund),
                    Value::ChronoDateTimeUtc(Some(at)),
                    key_value,
                ],
            ));
            batch.merges.push(Merge {
                legacy_id: row.id,
                into_id: original.id.to_string(),
                reason: format!("refund of {original_ref}, applied to its donation"),
                paid: None,
            });
        }
        status => {
            batch.reject(
                row,
                columns,
                format!(
                    "refund of {original_ref} ({status}, {} of {} refunded already) cannot apply",
                    original.refunded, original.amount
                ),
                paid,
            );
        }
    }
}

/// A later run found the legacy donation changed: the moves the payment provider could
/// have made (PENDING → PAID/FAILED/REFUNDED, PAID → REFUNDED) are applied with their
/// ledger movements; anything else is refused and listed, the import keeps what it had.
fn update(
    batch: &mut Batch,
    row: &LegacyRow,
    known: &Known,
    stamp: Option<DateTime<Utc>>,
    ledger: &Insert,
    by_ref: &mut HashMap<String, Known>,
) {
    let status = match clean::key(row.get(STATUS)).as_deref() {
        Some("paid") => "PAID",
        Some("pending") => "PENDING",
        Some("failed") => "FAILED",
        Some("refunded") => "REFUNDED",
        _ => "?",
    };
    if status == known.status {
        return;
    }
    let at = first_time(&[row.get(UPDATED_AT)])
        .or(stamp)
        .unwrap_or_else(Utc::now);
    let reference = payment_ref(row);
    match (known.status.as_ref(), status) {
        ("PENDING", "FAILED") => {
            applied(by_ref, &reference, known, "FAILED", 0);
            let (key, key_value) = donation_key(known);
            batch.primary_statements.push(statement(
                &format!("UPDATE donations SET status = 'FAILED', updated_at = ? WHERE {key} = ?"),
                vec![Value::ChronoDateTimeUtc(Some(at)), key_value],
            ));
        }
        ("PENDING", "PAID") | ("PENDING", "REFUNDED") | ("PAID", "REFUNDED") => {
            if known.status == "PENDING" {
                for leg in payment_legs(known, row.id, &reference, at) {
                    batch.push(ledger, leg);
                }
            }
            let refund = if status == "REFUNDED" {
                known.amount - known.refunded
            } else {
                0
            };
            if refund > 0 {
                for leg in refund_legs(known, row.id, "status", refund, at) {
                    batch.push(ledger, leg);
                }
            }
            applied(by_ref, &reference, known, status, refund);
            let (key, key_value) = donation_key(known);
            batch.primary_statements.push(statement(
                &format!("UPDATE donations SET status = ?, refunded_minor = refunded_minor + ?, paid_at = COALESCE(paid_at, ?), updated_at = ? WHERE {key} = ?"),
                vec![
                    Value::from(status),
                    Value::from(refund),
                    Value::ChronoDateTimeUtc(Some(at)),
                    Value::ChronoDateTimeUtc(Some(at)),
                    key_value,
                ],
            ));
        }
        (from, to) => batch.refused_updates.push(Reject {
            legacy_id: row.id,
            reason: format!(
                "status changed from {from} to {to} after the import; the imported donation is kept"
            ),
            row: row.to_json(Donations::COLUMNS),
            paid: None,
        }),
    }
}

/// Keeps the run's view of a donation in step with a status change applied to it, for a
/// refund row later in the run.
fn applied(
    by_ref: &mut HashMap<String, Known>,
    reference: &str,
    known: &Known,
    status: &'static str,
    refund: i64,
) {
    if let Some(entry) = by_ref.get_mut(reference)
        && entry.id == known.id
    {
        entry.status = Cow::Borrowed(status);
        entry.refunded += refund;
    }
}

/// Which column a statement finds `donation` by: its legacy id where it has one (the only
/// unique index on donations a first load into PostgreSQL keeps, see indexes.rs), else its
/// id (a donation made in the app, which only a later run, with every index, can meet).
fn donation_key(donation: &Known) -> (&'static str, Value) {
    match donation.legacy_id {
        Some(legacy_id) => ("legacy_id", Value::from(legacy_id)),
        None => ("id", Value::from(donation.id.to_string())),
    }
}

/// A statement for the donations database; `?` become `$n` for PostgreSQL when written.
fn statement(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(sea_orm::DbBackend::Sqlite, sql, values)
}

/// One leg of a ledger movement: owner type, owner id, signed amount, description.
type Leg<'a> = (&'static str, &'a str, i64, Cow<'static, str>);

/// The suffix every imported movement's description carries.
macro_rules! imported {
    ($description:literal) => {
        Cow::Borrowed(concat!($description, " (imported from the legacy system)"))
    };
}

/// The legs the live system writes when a payment arrives (direct) or a match is paid.
fn payment_legs(d: &Known, legacy_id: i64, reference: &str, at: DateTime<Utc>) -> Vec<Vec<Value>> {
    let (donor, campaign) = owners(d);
    let x = d.amount;
    if d.kind == "SPONSOR_MATCH" {
        let legs = [
            (
                "USER",
                donor.as_str(),
                -x,
                imported!("Sponsor match for an approved action"),
            ),
            (
                "CAMPAIGN",
                campaign.as_str(),
                x,
                imported!("Sponsor match received"),
            ),
        ];
        return ledger_rows(d, legacy_id, "payment", legs, at);
    }
    let received: Cow<'static, str> = Cow::Owned(format!(
        "Payment {reference} received (imported from the legacy system)"
    ));
    let legs = [
        ("EXTERNAL", "payments", -x, received.clone()),
        ("USER", donor.as_str(), x, received),
        (
            "USER",
            donor.as_str(),
            -x,
            imported!("Donation to a campaign"),
        ),
        (
            "CAMPAIGN",
            campaign.as_str(),
            x,
            imported!("Donation received"),
        ),
    ];
    ledger_rows(d, legacy_id, "payment", legs, at)
}

fn refund_legs(
    d: &Known,
    legacy_id: i64,
    source: &str,
    refund: i64,
    at: DateTime<Utc>,
) -> Vec<Vec<Value>> {
    let (donor, campaign) = owners(d);
    let movement = format!("refund-{source}");
    if d.kind == "SPONSOR_MATCH" {
        let legs = [
            (
                "CAMPAIGN",
                campaign.as_str(),
                -refund,
                imported!("Refund of a sponsor match"),
            ),
            (
                "USER",
                donor.as_str(),
                refund,
                imported!("Sponsor match refunded"),
            ),
        ];
        return ledger_rows(d, legacy_id, &movement, legs, at);
    }
    let legs = [
        (
            "CAMPAIGN",
            campaign.as_str(),
            -refund,
            imported!("Refund of a donation"),
        ),
        (
            "USER",
            donor.as_str(),
            refund,
            imported!("Refund of a donation"),
        ),
        (
            "USER",
            donor.as_str(),
            -refund,
            imported!("Refund paid back"),
        ),
        (
            "EXTERNAL",
            "payments",
            refund,
            imported!("Refund paid back"),
        ),
    ];
    ledger_rows(d, legacy_id, &movement, legs, at)
}

/// The donor's and the campaign's account ids (the donor's empty when there is none).
fn owners(d: &Known) -> (String, String) {
    let donor = d.donor.map(|u| u.to_string()).unwrap_or_default();
    (donor, d.campaign.to_string())
}

/// Ledger rows with ids derived from (legacy row, movement, leg): written again, they
/// are the same rows, so a repeated batch cannot post a movement twice.
fn ledger_rows<const LEGS: usize>(
    d: &Known,
    legacy_id: i64,
    movement: &str,
    legs: [Leg<'_>; LEGS],
    at: DateTime<Utc>,
) -> Vec<Vec<Value>> {
    let movement_id: Uuid = clean::stable_id_of(&["movement-", movement], legacy_id, Some(at));
    let mut leg_number = itoa::Buffer::new();
    legs.into_iter()
        .enumerate()
        .map(|(leg, (owner_type, owner_id, amount, description))| {
            let leg = leg_number.format(leg);
            let id = clean::stable_id_of(&["ledger-", movement, "-", leg], legacy_id, Some(at));
            vec![
                text(id.to_string()),
                text(movement_id.to_string()),
                text(owner_type),
                text(owner_id),
                text(d.currency.as_ref()),
                int(amount),
                text(d.id.to_string()),
                text(description),
                time(at),
            ]
        })
        .collect()
}

const KNOWN_SELECT: &str = "SELECT id, legacy_id, kind, status, amount_minor, refunded_minor, currency, donor_id, campaign_id, payment_ref FROM donations";

/// A stored donation. Its ids are UUIDs (the donations domain and the importer make
/// them so); a row whose ids are not is left out, as if it were not there.
fn known(row: &sea_orm::QueryResult) -> Option<(String, Known)> {
    let get = |i: usize| row.try_get_by_index::<Option<String>>(i).ok().flatten();
    let uuid = |i: usize| get(i).and_then(|text| Uuid::parse_str(&text).ok());
    let donor = match get(7) {
        Some(text) => Some(Uuid::parse_str(&text).ok()?),
        None => None,
    };
    Some((
        get(9)?,
        Known {
            id: uuid(0)?,
            legacy_id: row.try_get_by_index::<Option<i64>>(1).ok().flatten(),
            kind: code(get(2)?, KINDS),
            status: code(get(3)?, STATUSES),
            amount: row.try_get_by_index(4).ok()?,
            refunded: row.try_get_by_index(5).ok()?,
            currency: Cow::Owned(get(6)?),
            donor,
            campaign: uuid(8)?,
        },
    ))
}

/// Whether the donations table has any row.
async fn any_donation(db: &impl ConnectionTrait) -> Result<bool, sea_orm::DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM donations LIMIT 1".to_owned(),
        ))
        .await?;
    Ok(row.is_some())
}

async fn known_by_ref(
    db: &impl ConnectionTrait,
    refs: &[String],
) -> Result<HashMap<String, Known>, sea_orm::DbErr> {
    let mut out = HashMap::default();
    for chunk in refs.chunks(10_000) {
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = placeholders(
            db,
            &format!("{KNOWN_SELECT} WHERE payment_ref IN ({marks})"),
        );
        let values: Vec<Value> = chunk.iter().map(|r| Value::from(r.clone())).collect();
        for row in db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                values,
            ))
            .await?
        {
            if let Some((reference, known)) = known(&row) {
                out.insert(reference, known);
            }
        }
    }
    Ok(out)
}

async fn known_by_legacy(
    db: &impl ConnectionTrait,
    first: i64,
    last: i64,
) -> Result<HashMap<i64, Known>, sea_orm::DbErr> {
    let sql = format!("{KNOWN_SELECT} WHERE legacy_id >= {first} AND legacy_id <= {last}");
    let mut out = HashMap::default();
    for row in db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
    {
        if let Some((_, known)) = known(&row)
            && let Some(legacy_id) = known.legacy_id
        {
            out.insert(legacy_id, known);
        }
    }
    Ok(out)
}
