//! The reports domain. It owns its database, migrations and readiness now; its messages
//! arrive with its own issue.

use crate::runtime::{Domain, database_only_service, domain_handle};

database_only_service!(
    /// The reports domain's service.
    ReportsService,
    Domain::Reports
);

domain_handle!(
    /// The way in to the reports domain.
    ReportsHandle, Domain::Reports, ReportsService, {}
);
