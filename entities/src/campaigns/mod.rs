//! The campaigns database: campaigns and the projections kept from other domains' events.

pub mod campaign;
pub mod campaign_member;

pub use campaign::CampaignStatus;
