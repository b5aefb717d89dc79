//! The campaigns domain: campaigns, their life cycle, and the totals (raised, donors,
//! participants) it keeps from other domains' events.

mod messages;
mod service;
mod slug;

pub use messages::*;
pub use service::CampaignsService;

use crate::runtime::{ApplyEvent, ApplyEvents, Domain, domain_handle, route_messages};

route_messages!(CampaignsService {
    CreateCampaign => create,
    UpdateCampaign => update,
    SetCampaignStatus => set_status,
    GetCampaigns => get,
    FindCampaignBySlug => find_by_slug,
    ListCampaigns => list,
    ApplyEvent => apply,
    ApplyEvents => apply_all,
});

domain_handle!(
    /// The way in to the campaigns domain.
    CampaignsHandle, Domain::Campaigns, CampaignsService, {
        create: CreateCampaign,
        update: UpdateCampaign,
        set_status: SetCampaignStatus,
        get: GetCampaigns,
        find_by_slug: FindCampaignBySlug,
        list: ListCampaigns,
        apply: ApplyEvent,
        apply_all: ApplyEvents,
    }
);

/// The events this domain keeps projections from.
/// The domains whose events [`wants`] picks from.
pub(crate) const SOURCES: &[crate::runtime::Domain] = &[
    crate::runtime::Domain::Challenges,
    crate::runtime::Domain::Donations,
    crate::runtime::Domain::Reports,
];

pub(crate) fn wants(event: &crate::bus::Event) -> bool {
    matches!(
        event.kind.as_str(),
        "challenges.participation_joined"
            | "donations.donation_paid"
            | "donations.donation_refunded"
            | "reports.content_hidden"
            | "reports.content_restored"
    )
}
