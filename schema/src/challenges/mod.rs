//! The challenges part of the schema: challenges, participations, leaderboards.

mod connections;
mod loader;
mod mutation;
mod policy;
mod query;
mod types;

pub use connections::{challenge_connection, leaderboard, participation_connection};
pub use loader::{
    CampaignChallengesLoader, ChallengeLoader, LeaderboardLoader, MyParticipationLoader,
    ParticipationLoader,
};
pub use mutation::ChallengesMutation;
pub use policy::{visible_challenge, visible_participation};
pub use query::ChallengesQuery;
pub use types::{
    ActionType, Challenge, ChallengeStatus, LeaderboardEntry, Participation, ParticipationStatus,
};
