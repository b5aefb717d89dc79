//! The challenges domain: challenges inside campaigns, people joining them, submitting
//! proof and being reviewed, and each campaign's leaderboard.

mod messages;
mod service;

pub use messages::*;
pub use service::ChallengesService;

use crate::runtime::{ApplyEvent, ApplyEvents, Domain, domain_handle, route_messages};

route_messages!(ChallengesService {
    CreateChallenge => create,
    UpdateChallenge => update,
    SetChallengeStatus => set_status,
    GetChallenges => get,
    ListChallenges => list,
    ChallengesOfCampaigns => of_campaigns,
    JoinChallenge => join,
    SubmitAction => submit,
    ReviewAction => review,
    GetParticipations => get_participations,
    ListParticipations => list_participations,
    ParticipationsOfUser => of_user,
    Leaderboards => leaderboards,
    ApplyEvent => apply,
    ApplyEvents => apply_all,
});

domain_handle!(
    /// The way in to the challenges domain.
    ChallengesHandle, Domain::Challenges, ChallengesService, {
        create: CreateChallenge,
        update: UpdateChallenge,
        set_status: SetChallengeStatus,
        get: GetChallenges,
        list: ListChallenges,
        of_campaigns: ChallengesOfCampaigns,
        join: JoinChallenge,
        submit: SubmitAction,
        review: ReviewAction,
        get_participations: GetParticipations,
        list_participations: ListParticipations,
        of_user: ParticipationsOfUser,
        leaderboards: Leaderboards,
        apply: ApplyEvent,
        apply_all: ApplyEvents,
    }
);

/// Moderation decisions about challenges and submissions.
/// The domains whose events [`wants`] picks from.
pub(crate) const SOURCES: &[crate::runtime::Domain] = &[crate::runtime::Domain::Reports];

pub(crate) fn wants(event: &crate::bus::Event) -> bool {
    matches!(
        event.kind.as_str(),
        "reports.content_hidden" | "reports.content_restored"
    ) && matches!(
        event.data.get("targetType").and_then(|t| t.as_str()),
        Some("CHALLENGE" | "SUBMISSION")
    )
}
