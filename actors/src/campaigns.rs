//! The campaigns domain. It owns its database, migrations and readiness now; its messages
//! arrive with its own issue.

use crate::runtime::{Domain, database_only_service, domain_handle};

database_only_service!(
    /// The campaigns domain's service.
    CampaignsService,
    Domain::Campaigns
);

domain_handle!(
    /// The way in to the campaigns domain.
    CampaignsHandle, Domain::Campaigns, CampaignsService, {}
);
