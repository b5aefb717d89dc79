//! Money: integer minor units plus an ISO 4217 currency, never floats. Amounts travel as
//! decimal strings in major units ("150000", "12.50") and are parsed and printed exactly.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The currencies we accept, with their ISO 4217 minor-unit exponents.
const CURRENCIES: &[(&str, u32)] = &[
    ("IDR", 2),
    ("USD", 2),
    ("EUR", 2),
    ("SGD", 2),
    ("MYR", 2),
    ("AUD", 2),
    ("GBP", 2),
    ("PHP", 2),
    ("THB", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("VND", 0),
    ("KWD", 3),
    ("BHD", 3),
];

/// Larger than any real gift, small enough that sums of many never overflow i64.
const MAX_MAJOR_DIGITS: usize = 13;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(&'static str, u32);

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse("currency", &code).map_err(serde::de::Error::custom)
    }
}

impl Currency {
    pub fn parse(field: &str, code: &str) -> Result<Self, DomainError> {
        let code = code.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(c, e)| Currency(c, *e))
            .ok_or_else(|| {
                DomainError::invalid(
                    field,
                    format!("`{code}` is not a supported ISO 4217 currency"),
                )
            })
    }

    pub fn code(self) -> &'static str {
        self.0
    }

    pub fn exponent(self) -> u32 {
        self.1
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (sen for IDR, yen for JPY).
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// From a stored (minor units, currency code) pair.
    pub fn from_stored(minor: i64, currency: &str) -> Result<Self, DomainError> {
        Ok(Self::new(minor, Currency::parse("currency", currency)?))
    }

    /// Parses "150000", "12.5", "-3.25" in major units; more decimals than the currency
    /// has are refused, never rounded.
    pub fn parse(field: &str, amount: &str, currency: &str) -> Result<Self, DomainError> {
        let currency = Currency::parse(&format!("{field}.currency"), currency)?;
        let amount_field = format!("{field}.amount");
        let bad = |why: &str| DomainError::invalid(&amount_field, why.to_owned());
        let text = amount.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(bad(
                "must be a decimal number such as \"150000\" or \"12.50\"",
            ));
        }
        if !whole.chars().all(|c| c.is_ascii_digit())
            || !fraction.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad(
                "must be a decimal number such as \"150000\" or \"12.50\"",
            ));
        }
        if digits.contains('.') && fraction.is_empty() {
            return Err(bad("must have digits after the decimal point"));
        }
        if fraction.len() > currency.exponent() as usize {
            return Err(bad(&format!(
                "{} allows at most {} decimal places",
                currency.code(),
                currency.exponent()
            )));
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > MAX_MAJOR_DIGITS {
            return Err(bad("is too large"));
        }
        let scale = 10i64.pow(currency.exponent());
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad("is too large"))?
        };
        let mut fraction_units: i64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| bad("is not a number"))?
        };
        for _ in fraction.len()..currency.exponent() as usize {
            fraction_units *= 10;
        }
        let minor = whole * scale + fraction_units;
        Ok(Self::new(if negative { -minor } else { minor }, currency))
    }

    /// The amount in major units, exact: "150000", "12.50", "-0.05", "500" (JPY).
    pub fn amount(&self) -> String {
        let exponent = self.currency.exponent();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exponent == 0 {
            return format!("{sign}{abs}");
        }
        let scale = 10u64.pow(exponent);
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = exponent as usize
        )
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| {
                self.minor
                    .checked_add(other.minor)
                    .map(|m| Money::new(m, self.currency))
            })
            .flatten()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        let cases = [
            ("150000", "IDR", 15_000_000, "150000.00"),
            ("12.5", "idr", 1250, "12.50"),
            ("0.05", "USD", 5, "0.05"),
            ("500", "JPY", 500, "500"),
            ("1.234", "KWD", 1234, "1.234"),
            ("-3.25", "IDR", -325, "-3.25"),
            ("007", "IDR", 700, "7.00"),
        ];
        for (text, currency, minor, printed) in cases {
            let money = Money::parse("amount", text, currency).unwrap();
            assert_eq!(money.minor, minor, "{text}");
            assert_eq!(money.amount(), printed, "{text}");
            assert_eq!(
                Money::parse("amount", &money.amount(), currency).unwrap(),
                money
            );
        }
    }

    #[test]
    fn refuses_what_is_not_money() {
        for (text, currency) in [
            ("1.5", "JPY"),
            ("1.234", "IDR"),
            ("1e5", "IDR"),
            ("", "IDR"),
            (".", "IDR"),
            ("1.", "IDR"),
            ("abc", "IDR"),
            ("NaN", "IDR"),
            ("12,50", "IDR"),
            ("99999999999999999999", "IDR"),
            ("10", "XXX"),
            ("10", "idrr"),
        ] {
            assert!(
                Money::parse("amount", text, currency).is_err(),
                "{text} {currency}"
            );
        }
    }
}
