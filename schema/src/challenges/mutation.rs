use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, Utc};
use gerak_actors::{
    campaigns::CampaignStatus,
    challenges::{
        CreateChallenge, JoinChallenge, ReviewAction, SetChallengeStatus, SubmitAction,
        UpdateChallenge,
    },
    users::Role,
};

use super::{
    ActionType, Challenge, ChallengeStatus, Participation,
    policy::{may_review, visible_participation},
    visible_challenge,
};
use crate::{
    Handles,
    auth::{Viewer, require_viewer},
    campaigns::visible_campaign,
    error::{ApiError, ApiResult, FieldResult},
    input::{parse_id, patch},
    money::MoneyInput,
    users::{load_user, require_active},
};

#[derive(InputObject)]
pub struct CreateChallengeInput {
    pub campaign_id: ID,
    pub title: String,
    pub description: String,
    pub action_type: ActionType,
    /// In the campaign's currency.
    pub reward_per_action: MoneyInput,
    /// Who pays for approved actions (a SPONSOR); the campaign's organizer when absent.
    pub sponsor_id: Option<ID>,
    /// Paid approvals at most; null: unlimited.
    pub quota: Option<i32>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// Absent fields stay as they are; null clears the optional ones.
#[derive(InputObject)]
pub struct UpdateChallengeInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub reward_per_action: Option<MoneyInput>,
    pub sponsor_id: MaybeUndefined<ID>,
    pub quota: MaybeUndefined<i32>,
    pub starts_at: MaybeUndefined<DateTime<Utc>>,
    pub ends_at: MaybeUndefined<DateTime<Utc>>,
}

#[derive(Default)]
pub struct ChallengesMutation;

#[Object]
impl ChallengesMutation {
    /// A new DRAFT challenge (the campaign's organizer or an admin; not in an ARCHIVED campaign).
    async fn create_challenge(
        &self,
        ctx: &Context<'_>,
        input: CreateChallengeInput,
    ) -> FieldResult<Challenge> {
        let viewer = require_viewer(ctx)?;
        require_active(ctx, viewer).await?;
        let campaign =
            visible_campaign(ctx, &parse_id("input.campaignId", &input.campaign_id)?).await?;
        if !crate::campaigns::can_manage(viewer, &campaign) {
            return Err(ApiError::Forbidden(
                "only the campaign's organizer or an admin may add challenges".to_owned(),
            )
            .into());
        }
        if campaign.status == CampaignStatus::Archived {
            return Err(ApiError::bad_input("input.campaignId", "the campaign is ARCHIVED").into());
        }
        let sponsor_id = match input.sponsor_id {
            Some(id) => sponsor(ctx, &id).await?,
            None => campaign.organizer_id.clone(),
        };
        let challenge = Handles::of(ctx)?
            .challenges
            .send(CreateChallenge {
                campaign_id: campaign.id.clone(),
                campaign_currency: campaign.raised.currency.code().to_owned(),
                title: input.title,
                description: input.description,
                action_type: input.action_type.into(),
                reward: input.reward_per_action.parse("rewardPerAction")?,
                sponsor_id: Some(sponsor_id),
                quota: input.quota,
                starts_at: input.starts_at,
                ends_at: input.ends_at,
            })
            .await?;
        Ok(Challenge(challenge))
    }

    /// Changes a challenge (the campaign's organizer or an admin).
    async fn update_challenge(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateChallengeInput,
    ) -> FieldResult<Challenge> {
        let viewer = require_viewer(ctx)?;
        let challenge = managed_challenge(ctx, viewer, &id).await?;
        let sponsor_id = match input.sponsor_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => Some(Some(sponsor(ctx, &id).await?)),
        };
        let updated = Handles::of(ctx)?
            .challenges
            .send(UpdateChallenge {
                id: challenge.id,
                title: input.title,
                description: input.description,
                reward: input
                    .reward_per_action
                    .map(|r| r.parse("rewardPerAction"))
                    .transpose()?,
                sponsor_id,
                quota: patch(input.quota),
                starts_at: patch(input.starts_at),
                ends_at: patch(input.ends_at),
            })
            .await?;
        Ok(Challenge(updated))
    }

    /// DRAFT→ACTIVE→CLOSED (or DRAFT→CLOSED); the campaign's organizer or an admin.
    async fn set_challenge_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: ChallengeStatus,
    ) -> FieldResult<Challenge> {
        let viewer = require_viewer(ctx)?;
        let challenge = managed_challenge(ctx, viewer, &id).await?;
        let updated = Handles::of(ctx)?
            .challenges
            .send(SetChallengeStatus {
                id: challenge.id,
                status: status.into(),
            })
            .await?;
        Ok(Challenge(updated))
    }

    /// Joins an ACTIVE challenge of an ACTIVE campaign, once.
    async fn join_challenge(
        &self,
        ctx: &Context<'_>,
        challenge_id: ID,
    ) -> FieldResult<Participation> {
        let viewer = require_viewer(ctx)?;
        require_active(ctx, viewer).await?;
        let (challenge, campaign) =
            visible_challenge(ctx, &parse_id("challengeId", &challenge_id)?).await?;
        if campaign.status != CampaignStatus::Active {
            return Err(ApiError::bad_input(
                "challengeId",
                format!("the campaign is {}, not ACTIVE", campaign.status.name()),
            )
            .into());
        }
        let joined = Handles::of(ctx)?
            .challenges
            .send(JoinChallenge {
                challenge_id: challenge.id,
                user_id: viewer.user_id.clone(),
            })
            .await?;
        Ok(Participation(joined))
    }

    /// Proof of the action for one's own participation (JOINED, or REJECTED to resubmit).
    async fn submit_action(
        &self,
        ctx: &Context<'_>,
        participation_id: ID,
        proof_url: String,
    ) -> FieldResult<Participation> {
        let viewer = require_viewer(ctx)?;
        require_active(ctx, viewer).await?;
        let (participation, _, _) =
            visible_participation(ctx, &parse_id("participationId", &participation_id)?).await?;
        if participation.user_id != viewer.user_id {
            return Err(ApiError::Forbidden(
                "you can only submit for your own participation".to_owned(),
            )
            .into());
        }
        let submitted = Handles::of(ctx)?
            .challenges
            .send(SubmitAction {
                participation_id: participation.id,
                user_id: viewer.user_id.clone(),
                proof_url,
            })
            .await?;
        Ok(Participation(submitted))
    }

    /// Approves or rejects a SUBMITTED action (an admin or the campaign's organizer).
    async fn review_action(
        &self,
        ctx: &Context<'_>,
        participation_id: ID,
        approve: bool,
        note: Option<String>,
    ) -> FieldResult<Participation> {
        let viewer = require_viewer(ctx)?;
        require_active(ctx, viewer).await?;
        let (participation, _, campaign) =
            visible_participation(ctx, &parse_id("participationId", &participation_id)?).await?;
        may_review(viewer, &campaign)?;
        let reviewed = Handles::of(ctx)?
            .challenges
            .send(ReviewAction {
                participation_id: participation.id,
                reviewer_id: viewer.user_id.clone(),
                approve,
                note,
            })
            .await?;
        Ok(Participation(reviewed))
    }
}

/// A challenge the viewer may change, checked against its campaign.
async fn managed_challenge(
    ctx: &Context<'_>,
    viewer: &Viewer,
    id: &ID,
) -> ApiResult<gerak_actors::challenges::Challenge> {
    require_active(ctx, viewer).await?;
    let (challenge, campaign) = visible_challenge(ctx, &parse_id("id", id)?).await?;
    if !crate::campaigns::can_manage(viewer, &campaign) {
        return Err(ApiError::Forbidden(
            "only the campaign's organizer or an admin may change its challenges".to_owned(),
        ));
    }
    Ok(challenge)
}

/// A sponsor must be an existing SPONSOR (or ADMIN) account.
async fn sponsor(ctx: &Context<'_>, id: &ID) -> ApiResult<String> {
    let id = parse_id("input.sponsorId", id)?;
    match load_user(ctx, &id).await? {
        Some(user) if matches!(user.role, Role::Sponsor | Role::Admin) && !user.suspended => {
            Ok(user.id)
        }
        Some(_) => Err(ApiError::bad_input(
            "input.sponsorId",
            "is not an active sponsor",
        )),
        None => Err(ApiError::bad_input("input.sponsorId", "no such user")),
    }
}
