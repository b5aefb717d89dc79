//! Who may see and change campaigns: the one place that decides it.

use async_graphql::Context;
use gerak_actors::campaigns::{Campaign, CampaignStatus};

use super::CampaignLoader;
use crate::{
    auth::{Viewer, optional_viewer},
    error::{ApiError, ApiResult},
    loaders::loader,
};

/// Hidden campaigns are for admins only; drafts for their organizer and admins.
pub fn can_see(viewer: Option<&Viewer>, campaign: &Campaign) -> bool {
    match viewer {
        Some(v) if v.is_admin() => true,
        _ if campaign.hidden => false,
        Some(v) if campaign.status == CampaignStatus::Draft => v.user_id == campaign.organizer_id,
        None if campaign.status == CampaignStatus::Draft => false,
        _ => true,
    }
}

/// The organizer or an admin.
pub fn can_manage(viewer: &Viewer, campaign: &Campaign) -> bool {
    viewer.is_admin() || viewer.user_id == campaign.organizer_id
}

/// The campaign if the viewer may see it; NOT_FOUND otherwise, whether it exists or not.
pub async fn visible_campaign(ctx: &Context<'_>, id: &str) -> ApiResult<Campaign> {
    let viewer = optional_viewer(ctx)?;
    let campaign = loader::<CampaignLoader>(ctx)?
        .load_one(id.to_owned())
        .await?;
    match campaign {
        Some(campaign) if can_see(viewer, &campaign) => Ok(campaign),
        _ => Err(ApiError::NotFound("campaign".to_owned())),
    }
}

/// The campaign if the viewer may change it: NOT_FOUND if they cannot see it, FORBIDDEN
/// if they can see but not manage it.
pub async fn managed_campaign(ctx: &Context<'_>, viewer: &Viewer, id: &str) -> ApiResult<Campaign> {
    let campaign = visible_campaign(ctx, id).await?;
    if can_manage(viewer, &campaign) {
        Ok(campaign)
    } else {
        Err(ApiError::Forbidden(
            "only the campaign's organizer or an admin may do this".to_owned(),
        ))
    }
}
