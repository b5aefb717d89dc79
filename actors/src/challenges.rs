//! The challenges domain. It owns its database, migrations and readiness now; its messages
//! arrive with its own issue.

use crate::runtime::{Domain, database_only_service, domain_handle};

database_only_service!(
    /// The challenges domain's service.
    ChallengesService,
    Domain::Challenges
);

domain_handle!(
    /// The way in to the challenges domain.
    ChallengesHandle, Domain::Challenges, ChallengesService, {}
);
