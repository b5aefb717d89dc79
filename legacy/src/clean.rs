//! The cleaning rules, as pure functions of legacy values (see docs/legacy-import.md).
//! Nothing here fails on input: every function answers with a cleaned value, or says the
//! value is unusable so that the caller can reject the row with a reason.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use gerak_actors::money::{Currency, Money};

/// The monolith wrote local Jakarta time (UTC+7, no daylight saving) without a zone.
const JAKARTA_OFFSET_HOURS: i64 = 7;

/// A legacy timestamp: absent (NULL, empty, MySQL's zero date), unreadable, or a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    Missing,
    Unreadable,
    At(DateTime<Utc>),
}

impl Stamp {
    pub fn at(self) -> Option<DateTime<Utc>> {
        match self {
            Stamp::At(at) => Some(at),
            _ => None,
        }
    }
}

pub fn jakarta_time(raw: Option<&str>) -> Stamp {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Stamp::Missing;
    };
    if text.starts_with("0000-00-00") {
        return Stamp::Missing;
    }
    let local = plain_time(text)
        .or_else(|| {
            ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        });
    match local {
        Some(local) => Stamp::At((local - TimeDelta::hours(JAKARTA_OFFSET_HOURS)).and_utc()),
        None => Stamp::Unreadable,
    }
}

/// `YYYY-MM-DD HH:MM:SS` exactly, the monolith's usual form, read without chrono's
/// format interpreter (two reads per legacy row); anything else, or a value this does not
/// take (a leap second), goes to the general formats.
fn plain_time(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let digits = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(digits(0, 4)? as i32, digits(5, 7)?, digits(8, 10)?)?;
    date.and_hms_opt(digits(11, 13)?, digits(14, 16)?, digits(17, 19)?)
}

/// Trimmed and lower-cased: the form in which emails are unique. `None` when it is not a
/// plausible address (empty, `n/a`, no domain, spaces or control characters).
pub fn email(raw: Option<&str>) -> Option<String> {
    let email = raw?.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@')?;
    let plausible = !local.is_empty()
        && email.len() <= 320
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && !email.contains('<')
        && !email.contains('>');
    plausible.then_some(email)
}

/// An Indonesian phone number in any of the monolith's formats (`0812…`, `+62812…`,
/// `62-812-…`, `(+62) 812…`) as E.164 (`+62812…`); `None` if it cannot be one.
pub fn phone_e164(raw: Option<&str>) -> Option<String> {
    let text = raw?.trim();
    if text.is_empty() {
        return None;
    }
    if text
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)))
    {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let national = if let Some(rest) = digits.strip_prefix("62") {
        rest
    } else if let Some(rest) = digits.strip_prefix('0') {
        rest
    } else if text.starts_with('+') {
        // Another country's number, already international.
        return (8..=15)
            .contains(&digits.len())
            .then(|| format!("+{digits}"));
    } else {
        &digits
    };
    let national = national.trim_start_matches('0');
    // Indonesian mobile and landline numbers: 8 to 12 digits after the country code.
    (8..=12)
        .contains(&national.len())
        .then(|| format!("+62{national}"))
}

/// Text that was UTF-8 read as Latin-1 and written back (`JosÃ©` for `José`), repaired
/// only when that is certain: every character fits in one Latin-1 byte, those bytes are
/// valid UTF-8, and the result differs and has non-ASCII letters. Genuine Latin-1 text
/// (`José` itself) is never valid UTF-8 as bytes, so it is left alone.
pub fn repair_mojibake(text: &str) -> Option<String> {
    if text.is_ascii() || text.chars().any(|c| (c as u32) > 0xFF) {
        return None;
    }
    let bytes: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
    let repaired = String::from_utf8(bytes).ok()?;
    (repaired != text && !repaired.is_ascii()).then_some(repaired)
}

/// What cleaning a text did, for the summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TextFixes {
    pub control_removed: bool,
    pub markup_removed: bool,
    pub mojibake_repaired: bool,
    pub truncated: bool,
}

impl TextFixes {
    pub fn notes(self) -> impl Iterator<Item = &'static str> {
        [
            (self.control_removed, "control characters (NUL…) removed"),
            (self.markup_removed, "HTML markup removed"),
            (self.mojibake_repaired, "mojibake repaired"),
            (self.truncated, "text truncated to the new limit"),
        ]
        .into_iter()
        .filter_map(|(done, note)| done.then_some(note))
    }
}

/// Plain text for the new system: control characters (NUL included, which PostgreSQL
/// refuses) removed, HTML tags and `<script>` bodies removed (the API serves text, and
/// markup in a title is either an attack or an accident), mojibake repaired, surrounding
/// space trimmed, cut to `max` characters.
pub fn text(raw: &str, max: usize, multiline: bool) -> (String, TextFixes) {
    let mut fixes = TextFixes::default();
    let mut value: String = raw
        .chars()
        .filter(|&c| {
            let keep = !c.is_control() || (multiline && (c == '\n' || c == '\t'));
            fixes.control_removed |= !keep;
            keep
        })
        .collect();
    if value.contains('<') {
        let stripped = strip_markup(&value);
        if stripped != value {
            fixes.markup_removed = true;
            value = stripped;
        }
    }
    if let Some(repaired) = repair_mojibake(&value) {
        fixes.mojibake_repaired = true;
        value = repaired;
    }
    let trimmed = value.trim();
    let value = if trimmed.chars().count() > max {
        fixes.truncated = true;
        trimmed
            .chars()
            .take(max)
            .collect::<String>()
            .trim_end()
            .to_owned()
    } else {
        trimmed.to_owned()
    };
    (value, fixes)
}

/// Removes `<script>…</script>` and `<style>…</style>` with their content, and every
/// other tag; a `<` that starts no tag (`a < b`) stays.
fn strip_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let starts_tag = after[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        let Some(close) = after.find('>').filter(|_| starts_tag) else {
            out.push('<');
            rest = &after[1..];
            continue;
        };
        let tag = after[1..close].to_ascii_lowercase();
        rest = &after[close + 1..];
        for element in ["script", "style"] {
            if tag.starts_with(element) {
                let end = format!("</{element}");
                rest = match rest.to_ascii_lowercase().find(&end) {
                    Some(at) => rest[at..].find('>').map_or("", |gt| &rest[at + gt + 1..]),
                    None => "",
                };
            }
        }
    }
    out.push_str(rest);
    out
}

/// An enumeration value as the monolith wrote it, compared case-insensitively.
pub fn key(raw: Option<&str>) -> Option<Cow<'_, str>> {
    let trimmed = raw?.trim();
    if trimmed.is_empty() {
        return None;
    }
    // Most values are clean already: they are borrowed, not copied.
    if trimmed
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        Some(Cow::Owned(trimmed.to_lowercase()))
    } else {
        Some(Cow::Borrowed(trimmed))
    }
}

pub fn integer(raw: Option<&str>) -> Option<i64> {
    let text = raw?.trim();
    text.parse::<i64>().ok().or_else(|| {
        // A DECIMAL printed as `12.00`.
        let (whole, fraction) = text.split_once('.')?;
        (fraction.chars().all(|c| c == '0'))
            .then(|| whole.parse().ok())
            .flatten()
    })
}

/// The currency of a row: NULL means IDR (the monolith's default), case does not matter.
pub fn currency(raw: Option<&str>) -> Result<Currency, String> {
    let code = raw
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or("IDR");
    Currency::parse("currency", code).map_err(|_| format!("unknown currency `{code}`"))
}

/// A legacy DECIMAL amount, exactly, in minor units.
pub fn money(raw: Option<&str>, currency: Currency) -> Result<Money, String> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err("amount is missing".to_owned());
    };
    // PostgreSQL prints DECIMAL(16,2) with two decimals even for JPY-like currencies;
    // zeros beyond the currency's exponent change nothing.
    let trimmed = match text.split_once('.') {
        Some((whole, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                whole.to_owned()
            } else {
                format!("{whole}.{fraction}")
            }
        }
        None => text.to_owned(),
    };
    Money::parse("amount", &trimmed, currency.code())
        .map_err(|_| format!("amount `{}` is not a decimal number", short(text)))
}

/// A value short enough to quote in a reason.
pub fn short(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// An http(s) URL we keep as it is; anything else is dropped.
pub fn url(raw: Option<&str>) -> Option<String> {
    let url = raw?.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    ok.then(|| url.to_owned())
}

/// FNV-1a, 64 bits: a fingerprint that is stable across runs, platforms and Rust versions
/// (std's hasher is not), for noticing that a legacy batch changed.
#[derive(Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn seeded(seed: u64) -> Self {
        let mut fnv = Fnv::default();
        fnv.bytes(&seed.to_le_bytes());
        fnv
    }

    pub fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// A value with its length first, so that ("ab", "c") and ("a", "bc") differ.
    pub fn field(&mut self, value: Option<&str>) {
        match value {
            None => self.bytes(&[0xff]),
            Some(v) => {
                self.bytes(&(v.len() as u64).to_le_bytes());
                self.bytes(v.as_bytes());
            }
        }
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

/// The new id of a legacy row: a UUIDv7 (so lists keep their time order) whose time is the
/// row's creation and whose random bits come from `(kind, legacy id)`. Deterministic, so a
/// resumed or repeated run gives every row the same id.
pub fn stable_id(kind: &str, legacy_id: i64, at: Option<DateTime<Utc>>) -> uuid::Uuid {
    stable_id_of(&[kind], legacy_id, at)
}

/// [`stable_id`] of the kind that is `parts` joined, without joining them.
pub fn stable_id_of(parts: &[&str], legacy_id: i64, at: Option<DateTime<Utc>>) -> uuid::Uuid {
    let millis = at.map_or(0, |t| t.timestamp_millis().max(0)) as u64;
    let length: usize = parts.iter().map(|part| part.len()).sum();
    let mut first = Fnv::seeded(1);
    let mut second = Fnv::seeded(2);
    for fnv in [&mut first, &mut second] {
        // As `field` hashes the joined kind: its length, then its bytes.
        fnv.bytes(&(length as u64).to_le_bytes());
        for part in parts {
            fnv.bytes(part.as_bytes());
        }
        fnv.bytes(&legacy_id.to_le_bytes());
    }
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&first.finish().to_le_bytes());
    random[8..].copy_from_slice(&second.finish().to_le_bytes()[..2]);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_of_parts_is_the_id_of_the_joined_kind() {
        let at = jakarta_time(Some("2021-03-04 07:30:00")).at();
        assert_eq!(
            stable_id_of(&["ledger-", "refund-row", "-", "3"], 42, at),
            stable_id("ledger-refund-row-3", 42, at)
        );
        assert_ne!(
            stable_id_of(&["ledger-", "refund-row", "-", "3"], 42, at),
            stable_id("ledger-refund-row-4", 42, at)
        );
    }

    #[test]
    fn the_plain_time_form_reads_as_chrono_reads_it() {
        for text in [
            "2021-03-04 07:30:00",
            "1999-12-31 23:59:59",
            "2024-02-29 00:00:00",
            "2023-02-29 10:00:00",
            "2021-13-04 07:30:00",
            "2021-03-04 24:00:00",
            "2021-03-04 23:59:60",
            "2021-03-04 07:30:0x",
            "+021-03-04 07:30:00",
        ] {
            let chrono = || NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok();
            // What the fast path does not take, the general formats decide.
            assert_eq!(plain_time(text).or_else(chrono), chrono(), "{text}");
        }
        assert!(plain_time("2021-03-04 07:30:00").is_some());
        assert!(plain_time("2021-03-04 23:59:60").is_none());
    }

    #[test]
    fn keys_are_trimmed_and_lowercased() {
        assert_eq!(key(Some(" Paid ")).as_deref(), Some("paid"));
        assert!(matches!(key(Some("paid")), Some(Cow::Borrowed("paid"))));
        assert_eq!(key(Some("   ")), None);
        assert_eq!(key(None), None);
    }

    #[test]
    fn jakarta_time_becomes_utc() {
        let at = jakarta_time(Some("2021-03-04 07:30:00")).at().unwrap();
        assert_eq!(at.to_rfc3339(), "2021-03-04T00:30:00+00:00");
        assert_eq!(jakarta_time(Some("0000-00-00 00:00:00")), Stamp::Missing);
        assert_eq!(jakarta_time(None), Stamp::Missing);
        assert_eq!(jakarta_time(Some("yesterday")), Stamp::Unreadable);
        assert_eq!(
            jakarta_time(Some("2021-03-04")).at().unwrap().to_rfc3339(),
            "2021-03-03T17:00:00+00:00"
        );
    }

    #[test]
    fn emails_are_trimmed_lowercased_or_refused() {
        assert_eq!(
            email(Some(" Budi.Santoso1@Example.co.id ")).as_deref(),
            Some("budi.santoso1@example.co.id")
        );
        for bad in ["", "n/a", "budi@", "a b@c.id", "x@<script>.id"] {
            assert_eq!(email(Some(bad)), None, "{bad}");
        }
    }

    #[test]
    fn phones_to_e164() {
        for raw in [
            "081234567890",
            "+6281234567890",
            "62-812-34567890",
            "(+62) 81234567890",
        ] {
            assert_eq!(
                phone_e164(Some(raw)).as_deref(),
                Some("+6281234567890"),
                "{raw}"
            );
        }
        assert_eq!(phone_e164(Some("12")), None);
        assert_eq!(phone_e164(Some("call me")), None);
        assert_eq!(
            phone_e164(Some("+14155552671")).as_deref(),
            Some("+14155552671")
        );
    }

    #[test]
    fn mojibake_is_repaired_only_when_certain() {
        let broken: String = "José Zoë".bytes().map(char::from).collect();
        assert_eq!(repair_mojibake(&broken).as_deref(), Some("José Zoë"));
        assert_eq!(repair_mojibake("José"), None);
        assert_eq!(repair_mojibake("Budi"), None);
        assert_eq!(repair_mojibake("日本"), None);
    }

    #[test]
    fn text_is_made_plain() {
        let (value, fixes) = text("Tanam <script>alert(1)</script>Pohon<b>!</b>\0", 200, false);
        assert_eq!(value, "Tanam Pohon!");
        assert!(fixes.markup_removed && fixes.control_removed);
        let (value, fixes) = text(&"x".repeat(20_000), 200, false);
        assert_eq!(value.len(), 200);
        assert!(fixes.truncated);
        assert_eq!(text("a < b", 10, false).0, "a < b");
    }

    #[test]
    fn money_is_exact() {
        let idr = currency(Some("idr")).unwrap();
        assert_eq!(money(Some("10000"), idr).unwrap().minor, 1_000_000);
        assert_eq!(money(Some("10000.00"), idr).unwrap().minor, 1_000_000);
        assert_eq!(money(Some("-2500.5"), idr).unwrap().minor, -250_050);
        assert!(money(Some("abc"), idr).is_err());
        assert!(money(None, idr).is_err());
        assert_eq!(currency(None).unwrap().code(), "IDR");
        assert!(currency(Some("XXX")).is_err());
        assert_eq!(integer(Some("12.00")), Some(12));
        assert_eq!(integer(Some("twelve")), None);
    }

    #[test]
    fn stable_ids_are_deterministic_and_distinct() {
        let at = jakarta_time(Some("2021-03-04 07:30:00")).at();
        assert_eq!(stable_id("users", 7, at), stable_id("users", 7, at));
        assert_ne!(stable_id("users", 7, at), stable_id("users", 8, at));
        assert_ne!(stable_id("users", 7, at), stable_id("campaigns", 7, at));
        assert_eq!(stable_id("users", 7, at).get_version_num(), 7);
    }
}
