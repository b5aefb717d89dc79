//! The donations domain. It owns its database, migrations and readiness now; its messages
//! arrive with its own issue.

use crate::runtime::{Domain, database_only_service, domain_handle};

database_only_service!(
    /// The donations domain's service.
    DonationsService,
    Domain::Donations
);

domain_handle!(
    /// The way in to the donations domain.
    DonationsHandle, Domain::Donations, DonationsService, {}
);
