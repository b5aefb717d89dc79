//! The campaigns part of the schema.

mod loader;
mod mutation;
mod policy;
mod query;
mod types;

pub use loader::CampaignLoader;
pub use mutation::CampaignsMutation;
pub use policy::{can_manage, visible_campaign};
pub use query::CampaignsQuery;
pub use types::{Campaign, CampaignStatus};
