use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, Utc};
use gerak_actors::{
    campaigns::{CreateCampaign, SetCampaignStatus, UpdateCampaign},
    users::Role,
};

use super::{Campaign, CampaignStatus, policy::managed_campaign};
use crate::{
    Handles,
    auth::require_viewer,
    error::{ApiError, FieldResult},
    input::{parse_id, patch},
    money::MoneyInput,
    users::require_active,
};

#[derive(InputObject)]
pub struct CreateCampaignInput {
    pub title: String,
    /// Made from the title when absent (with a suffix if taken).
    pub slug: Option<String>,
    pub description: String,
    pub banner_url: Option<String>,
    /// Also sets the campaign's currency (IDR without a goal).
    pub goal: Option<MoneyInput>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// Absent fields stay as they are; null clears the optional ones.
#[derive(InputObject)]
pub struct UpdateCampaignInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub banner_url: MaybeUndefined<String>,
    pub goal: MaybeUndefined<MoneyInput>,
    pub starts_at: MaybeUndefined<DateTime<Utc>>,
    pub ends_at: MaybeUndefined<DateTime<Utc>>,
}

#[derive(Default)]
pub struct CampaignsMutation;

#[Object]
impl CampaignsMutation {
    /// A new DRAFT campaign organized by the caller (SPONSOR or ADMIN).
    async fn create_campaign(
        &self,
        ctx: &Context<'_>,
        input: CreateCampaignInput,
    ) -> FieldResult<Campaign> {
        let viewer = require_viewer(ctx)?;
        let account = require_active(ctx, viewer).await?;
        if !matches!(account.role, Role::Sponsor | Role::Admin) {
            return Err(ApiError::Forbidden(
                "only sponsors and admins create campaigns".to_owned(),
            )
            .into());
        }
        let campaign = Handles::of(ctx)?
            .campaigns
            .send(CreateCampaign {
                organizer_id: viewer.user_id.clone(),
                title: input.title,
                slug: input.slug,
                description: input.description,
                banner_url: input.banner_url,
                goal: input.goal.map(|g| g.parse("goal")).transpose()?,
                starts_at: input.starts_at,
                ends_at: input.ends_at,
            })
            .await?;
        Ok(Campaign(campaign))
    }

    /// Changes a campaign (its organizer or an admin).
    async fn update_campaign(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCampaignInput,
    ) -> FieldResult<Campaign> {
        let viewer = require_viewer(ctx)?;
        require_active(ctx, viewer).await?;
        let campaign = managed_campaign(ctx, viewer, &parse_id("id", &id)?).await?;
        let goal = match input.goal {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(goal) => Some(Some(goal.parse("input.goal")?)),
        };
        let updated = Handles::of(ctx)?
            .campaigns
            .send(UpdateCampaign {
                id: campaign.id,
                title: input.title,
                description: input.description,
                banner_url: patch(input.banner_url),
                goal,
                starts_at: patch(input.starts_at),
                ends_at: patch(input.ends_at),
            })
            .await?;
        Ok(Campaign(updated))
    }

    /// Moves a campaign along DRAFT→ACTIVE→ENDED→ARCHIVED (or DRAFT→ARCHIVED).
    async fn set_campaign_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: CampaignStatus,
    ) -> FieldResult<Campaign> {
        let viewer = require_viewer(ctx)?;
        require_active(ctx, viewer).await?;
        let campaign = managed_campaign(ctx, viewer, &parse_id("id", &id)?).await?;
        let updated = Handles::of(ctx)?
            .campaigns
            .send(SetCampaignStatus {
                id: campaign.id,
                status: status.into(),
            })
            .await?;
        Ok(Campaign(updated))
    }
}
