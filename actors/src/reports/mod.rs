//! The reports domain: moderation reports, auto-hiding, resolutions and appeals, and the
//! admin dashboard's projections.

mod messages;
mod service;

pub use messages::*;
pub use service::ReportsService;

use crate::runtime::{ApplyEvent, ApplyEvents, Domain, domain_handle, route_messages};

route_messages!(ReportsService {
    FileReport => file,
    ResolveReport => resolve,
    Appeal => appeal,
    GetReports => get,
    ListReports => list,
    GetChallengeStats => challenge_stats,
    GetDashboard => dashboard,
    ApplyEvent => apply,
    ApplyEvents => apply_all,
});

domain_handle!(
    /// The way in to the reports domain.
    ReportsHandle, Domain::Reports, ReportsService, {
        file: FileReport,
        resolve: ResolveReport,
        appeal: Appeal,
        get: GetReports,
        list: ListReports,
        challenge_stats: GetChallengeStats,
        dashboard: GetDashboard,
        apply: ApplyEvent,
        apply_all: ApplyEvents,
    }
);

/// What the admin projections are built from.
/// The domains whose events [`wants`] picks from.
pub(crate) const SOURCES: &[crate::runtime::Domain] = &[
    crate::runtime::Domain::Users,
    crate::runtime::Domain::Campaigns,
    crate::runtime::Domain::Challenges,
    crate::runtime::Domain::Donations,
];

pub(crate) fn wants(event: &crate::bus::Event) -> bool {
    matches!(
        event.kind.as_str(),
        "users.user_registered"
            | "users.user_role_changed"
            | "users.user_suspended"
            | "users.user_reinstated"
            | "campaigns.campaign_created"
            | "campaigns.campaign_status_changed"
            | "challenges.participation_joined"
            | "challenges.action_submitted"
            | "challenges.action_approved"
            | "challenges.action_rejected"
            | "donations.donation_paid"
            | "donations.donation_refunded"
    )
}
