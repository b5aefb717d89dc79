//! Who may see and change challenges and participations: the one place that decides it.

use async_graphql::Context;
use gerak_actors::{
    campaigns::Campaign,
    challenges::{Challenge, ChallengeStatus, Participation},
};

use super::{ChallengeLoader, ParticipationLoader};
use crate::{
    auth::{Viewer, optional_viewer},
    campaigns::{can_manage, visible_campaign},
    error::{ApiError, ApiResult},
    loaders::loader,
};

/// A challenge is visible with its campaign; hidden ones only to admins, drafts only to
/// whoever manages the campaign.
pub fn can_see(viewer: Option<&Viewer>, campaign: &Campaign, challenge: &Challenge) -> bool {
    let manages = viewer.is_some_and(|v| can_manage(v, campaign));
    let admin = viewer.is_some_and(Viewer::is_admin);
    (!challenge.hidden || admin) && (challenge.status != ChallengeStatus::Draft || manages)
}

/// The challenge and its campaign if the viewer may see them; NOT_FOUND otherwise.
pub async fn visible_challenge(ctx: &Context<'_>, id: &str) -> ApiResult<(Challenge, Campaign)> {
    let viewer = optional_viewer(ctx)?;
    let not_found = || ApiError::NotFound("challenge".to_owned());
    let challenge = loader::<ChallengeLoader>(ctx)?
        .load_one(id.to_owned())
        .await?
        .ok_or_else(not_found)?;
    let campaign = visible_campaign(ctx, &challenge.campaign_id)
        .await
        .map_err(|_| not_found())?;
    if can_see(viewer, &campaign, &challenge) {
        Ok((challenge, campaign))
    } else {
        Err(not_found())
    }
}

/// A participation is visible with its challenge; a hidden submission only to admins and
/// to its author.
pub async fn visible_participation(
    ctx: &Context<'_>,
    id: &str,
) -> ApiResult<(Participation, Challenge, Campaign)> {
    let viewer = optional_viewer(ctx)?;
    let not_found = || ApiError::NotFound("participation".to_owned());
    let participation = loader::<ParticipationLoader>(ctx)?
        .load_one(id.to_owned())
        .await?
        .ok_or_else(not_found)?;
    let own = viewer.is_some_and(|v| v.user_id == participation.user_id);
    let admin = viewer.is_some_and(Viewer::is_admin);
    if participation.hidden && !own && !admin {
        return Err(not_found());
    }
    let (challenge, campaign) = visible_challenge(ctx, &participation.challenge_id)
        .await
        .map_err(|_| not_found())?;
    Ok((participation, challenge, campaign))
}

/// Reviewing: the campaign's organizer or an admin.
pub fn may_review(viewer: &Viewer, campaign: &Campaign) -> ApiResult<()> {
    if can_manage(viewer, campaign) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the campaign's organizer or an admin may review actions".to_owned(),
        ))
    }
}
