//! Operators' view of the running domains, from the domains themselves.

use async_graphql::{Context, Enum, Object, SimpleObject};
use gerak_actors::Domain;

use crate::{
    Handles,
    auth::require_admin,
    error::{ApiResult, FieldResult},
};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "DomainName")]
pub enum DomainName {
    Users,
    Campaigns,
    Challenges,
    Donations,
    Reports,
}

impl From<DomainName> for Domain {
    fn from(name: DomainName) -> Self {
        match name {
            DomainName::Users => Domain::Users,
            DomainName::Campaigns => Domain::Campaigns,
            DomainName::Challenges => Domain::Challenges,
            DomainName::Donations => Domain::Donations,
            DomainName::Reports => Domain::Reports,
        }
    }
}

impl From<Domain> for DomainName {
    fn from(domain: Domain) -> Self {
        match domain {
            Domain::Users => DomainName::Users,
            Domain::Campaigns => DomainName::Campaigns,
            Domain::Challenges => DomainName::Challenges,
            Domain::Donations => DomainName::Donations,
            Domain::Reports => DomainName::Reports,
        }
    }
}

/// Whether a domain's actor and database answer right now.
#[derive(SimpleObject)]
pub struct DomainStatus {
    pub domain: DomainName,
    pub ready: bool,
    /// How often the domain's actor was restarted after a failure since start.
    pub restarts: Option<i64>,
    /// Round trip to the domain's database, in milliseconds.
    pub database_ms: Option<f64>,
    /// Why it is not ready.
    pub error: Option<String>,
}

#[derive(Default)]
pub struct SystemQuery;

#[Object]
impl SystemQuery {
    /// One domain's status (ADMIN).
    async fn domain_status(
        &self,
        ctx: &Context<'_>,
        domain: DomainName,
    ) -> FieldResult<DomainStatus> {
        require_admin(ctx)?;
        Ok(status(ctx, domain).await?)
    }

    /// Every domain's status (ADMIN).
    async fn system_status(&self, ctx: &Context<'_>) -> FieldResult<Vec<DomainStatus>> {
        require_admin(ctx)?;
        let checks = Domain::ALL.map(|d| status(ctx, d.into()));
        let statuses: ApiResult<Vec<_>> = futures::future::join_all(checks)
            .await
            .into_iter()
            .collect();
        Ok(statuses?)
    }
}

async fn status(ctx: &Context<'_>, domain: DomainName) -> ApiResult<DomainStatus> {
    let domains = Handles::of(ctx)?;
    Ok(match domains.ping(domain.into()).await {
        Ok(health) => DomainStatus {
            domain,
            ready: true,
            restarts: Some(health.restarts as i64),
            database_ms: Some(health.database_ms),
            error: None,
        },
        Err(err) => DomainStatus {
            domain,
            ready: false,
            restarts: None,
            database_ms: None,
            error: Some(err.to_string()),
        },
    })
}
