//! `users` → the users domain's accounts (and the reports domain's `user_states`).

use gerak_actors::Domain;

use super::{LegacyTable, creation_time, first_time};
use crate::{
    Importer, LegacyError,
    batch::{Batch, Insert, boolean, int, opt_text, text, time},
    clean,
    source::LegacyRow,
};

pub struct Users;

const EMAIL: usize = 0;
const PASSWORD_HASH: usize = 1;
const FULL_NAME: usize = 2;
const PHONE: usize = 3;
const ROLE: usize = 4;
const COMPANY_NAME: usize = 5;
const AVATAR_URL: usize = 6;
const IS_ACTIVE: usize = 7;
const CREATED_AT: usize = 8;
const UPDATED_AT: usize = 9;
const DELETED_AT: usize = 10;

const USER_COLUMNS: &[&str] = &[
    "id",
    "legacy_id",
    "email",
    "email_key",
    "password_hash",
    "password_scheme",
    "full_name",
    "role",
    "company_name",
    "avatar_url",
    "phone",
    "suspended",
    "created_at",
    "updated_at",
];
const STATE_COLUMNS: &[&str] = &["user_id", "role", "suspended"];

impl LegacyTable for Users {
    const NAME: &'static str = "users";
    const COLUMNS: &'static [&'static str] = &[
        "email",
        "password_hash",
        "full_name",
        "phone",
        "role",
        "company_name",
        "avatar_url",
        "is_active",
        "created_at",
        "updated_at",
        "deleted_at",
    ];
    const DOMAIN: Domain = Domain::Users;

    async fn prepare(
        importer: &mut Importer,
        rows: &[LegacyRow],
        _again: bool,
    ) -> Result<Batch, LegacyError> {
        // A later run updates what the legacy system changed, but never the password (the
        // user may have logged in and been re-hashed) nor the email that makes accounts unique.
        let users = Insert::new("users", USER_COLUMNS).upsert(
            &["legacy_id"],
            &[
                "full_name",
                "role",
                "company_name",
                "avatar_url",
                "phone",
                "suspended",
                "updated_at",
            ],
        );
        let states =
            Insert::new("user_states", STATE_COLUMNS).upsert(&["user_id"], &["role", "suspended"]);
        let mut batch = Batch::default();
        for row in rows {
            if importer.merged.contains(&(Self::NAME, row.id)) {
                continue;
            }
            let created = creation_time(
                &mut batch,
                "users: no creation time (created_at, updated_at NULL or zero), imported as 1970-01-01",
                &[row.get(CREATED_AT), row.get(UPDATED_AT)],
            );
            let updated = first_time(&[row.get(UPDATED_AT)])
                .unwrap_or(created)
                .max(created);
            let existing = importer.users.get(&row.id).copied();
            let id =
                existing.unwrap_or_else(|| clean::stable_id(Self::NAME, row.id, Some(created)));
            let email_key = match clean::email(row.get(EMAIL)) {
                Some(email) => email,
                None => {
                    batch.note("users: unusable email replaced by legacy-<id>@legacy.invalid");
                    format!("legacy-{}@legacy.invalid", row.id)
                }
            };
            if let Some(owner) = importer.email_keys.get(&email_key).copied()
                && owner != id
            {
                // The same person registered twice: the account that has the address
                // first (the oldest legacy id, or an account already in the new system)
                // wins, and everything of this one is re-pointed to it.
                importer.users.insert(row.id, owner);
                batch.merges.push(crate::batch::Merge {
                    legacy_id: row.id,
                    into_id: owner.to_string(),
                    reason: format!("same email as an earlier account ({email_key})"),
                    paid: None,
                });
                continue;
            }
            let (password_hash, scheme) = password(row.get(PASSWORD_HASH));
            if scheme == "none" {
                batch.note("users: no usable password hash (login needs a password reset)");
            }
            let scheme = if scheme == "none" {
                "legacy-md5"
            } else {
                scheme
            };
            let raw_name = row.get(FULL_NAME).unwrap_or("");
            let (mut full_name, fixes) = clean::text(raw_name, 200, false);
            for note in fixes.notes() {
                batch.note(note);
            }
            if full_name.is_empty() {
                full_name = format!("Legacy user {}", row.id);
                batch.note("users: empty name replaced");
            }
            let role = match clean::key(row.get(ROLE)).as_deref() {
                None | Some("user") => "USER",
                Some("sponsor") => "SPONSOR",
                Some("admin") => "ADMIN",
                Some(_) => {
                    // Never more rights than the row certainly had.
                    batch.note("users: unknown role imported as USER");
                    "USER"
                }
            };
            let company = row
                .get(COMPANY_NAME)
                .map(|c| clean::text(c, 200, false).0)
                .filter(|c| !c.is_empty());
            let phone = clean::phone_e164(row.get(PHONE));
            if phone.is_none() && row.get(PHONE).is_some_and(|p| !p.trim().is_empty()) {
                batch.note("users: phone that is no phone number dropped");
            }
            let deleted = clean::jakarta_time(row.get(DELETED_AT)) != clean::Stamp::Missing;
            let inactive = clean::integer(row.get(IS_ACTIVE)) == Some(0);
            let suspended = deleted || inactive;
            importer.users.insert(row.id, id);
            importer.email_keys.insert(email_key.clone(), id);
            batch.push(
                &users,
                vec![
                    text(id.to_string()),
                    int(row.id),
                    text(email_key.clone()),
                    text(email_key),
                    text(password_hash),
                    text(scheme),
                    text(full_name),
                    text(role),
                    opt_text(company),
                    opt_text(clean::url(row.get(AVATAR_URL))),
                    opt_text(phone),
                    boolean(suspended),
                    time(created),
                    time(updated),
                ],
            );
            batch.push_secondary(
                Domain::Reports,
                &states,
                vec![text(id.to_string()), text(role), boolean(suspended)],
            );
        }
        Ok(batch)
    }
}

/// The stored hash and its scheme: `legacy-md5` (32 hex digits), `legacy-sha256`
/// (`sha256$salt$hex`), `argon2id`, or `none` (nothing that could ever match).
fn password(raw: Option<&str>) -> (String, &'static str) {
    let hash = raw.unwrap_or("").trim();
    if hash.len() == 32 && hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return (hash.to_lowercase(), "legacy-md5");
    }
    let mut parts = hash.splitn(3, '$');
    if let (Some("sha256"), Some(salt), Some(hex)) = (parts.next(), parts.next(), parts.next())
        && hex.len() == 64
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && !salt.is_empty()
    {
        return (hash.to_owned(), "legacy-sha256");
    }
    if hash.starts_with("$argon2id$") {
        return (hash.to_owned(), "argon2id");
    }
    // Matches no password under any scheme: the account must reset its password.
    ("!".to_owned(), "none")
}

#[cfg(test)]
mod tests {
    #[test]
    fn password_schemes() {
        assert_eq!(
            super::password(Some("0CC175B9C0F1B6A831C399E269772661")).1,
            "legacy-md5"
        );
        let sha = format!("sha256$ab12cd34${}", "a".repeat(64));
        assert_eq!(super::password(Some(&sha)).1, "legacy-sha256");
        assert_eq!(super::password(Some("plaintext")).1, "none");
        assert_eq!(super::password(None).1, "none");
    }
}
