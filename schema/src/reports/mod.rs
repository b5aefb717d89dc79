//! The reports part of the schema: moderation, the admin dashboard, challenge reports.

mod mutation;
mod query;
mod subscription;
mod types;

pub use mutation::ReportsMutation;
pub use query::ReportsQuery;
pub use subscription::ReportsSubscription;
pub use types::{Report, ReportTargetType};
