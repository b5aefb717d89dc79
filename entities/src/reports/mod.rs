//! The reports database: moderation reports, what moderation hid, and the projections
//! behind the admin dashboard and challenge reports (kept from other domains' events).

pub mod campaign_state;
pub mod challenge_total;
pub mod moderation_target;
pub mod participation_state;
pub mod raised_total;
pub mod report;
pub mod user_state;

pub use report::{ReportStatus, ReportTargetType};
