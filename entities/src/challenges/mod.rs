//! The challenges database: challenges, participations and the leaderboard projection.

pub mod challenge;
pub mod leaderboard_entry;
pub mod participation;

pub use challenge::{ActionType, ChallengeStatus};
pub use participation::ParticipationStatus;
