//! Money on the wire: a decimal string in major units and an ISO 4217 code.

use async_graphql::{InputObject, SimpleObject};
use gerak_actors::money as domain;

use crate::error::{ApiError, ApiResult};

/// An amount of money: `amount` is an exact decimal string in major units ("150000",
/// "12.50"), never a float.
#[derive(SimpleObject, Clone, Debug)]
pub struct Money {
    pub amount: String,
    /// ISO 4217, e.g. IDR.
    pub currency: String,
}

impl From<domain::Money> for Money {
    fn from(money: domain::Money) -> Self {
        Self {
            amount: money.amount(),
            currency: money.currency.code().to_owned(),
        }
    }
}

#[derive(InputObject, Clone, Debug)]
pub struct MoneyInput {
    /// Major units as a decimal string: "150000", "12.50".
    pub amount: String,
    #[graphql(default_with = "Some(\"IDR\".to_owned())")]
    pub currency: Option<String>,
}

impl MoneyInput {
    /// Parses into exact minor units; `field` names the input in errors (`goal`).
    pub fn parse(&self, field: &str) -> ApiResult<domain::Money> {
        domain::Money::parse(
            field,
            &self.amount,
            self.currency.as_deref().unwrap_or("IDR"),
        )
        .map_err(ApiError::from)
    }
}
