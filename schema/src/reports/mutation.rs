use async_graphql::{Context, ID, InputObject, Object};
use gerak_actors::reports::{Appeal, FileReport, ResolveReport, TargetType};

use super::types::{ModerationAction, Report, ReportReason, ReportTargetType};
use crate::{
    Handles,
    auth::{require_admin, require_viewer},
    campaigns::visible_campaign,
    challenges::{visible_challenge, visible_participation},
    error::{ApiError, ApiResult, FieldResult},
    input::parse_id,
    users::{load_user, require_active},
};

#[derive(InputObject)]
pub struct ReportInput {
    pub target_type: ReportTargetType,
    pub target_id: ID,
    pub reason: ReportReason,
    /// At most 1,000 characters.
    pub note: Option<String>,
}

#[derive(Default)]
pub struct ReportsMutation;

#[Object]
impl ReportsMutation {
    /// Reports content or a user. One open report per reporter and target; enough
    /// reporters hide content until an admin decides.
    async fn report_content(&self, ctx: &Context<'_>, input: ReportInput) -> FieldResult<Report> {
        let viewer = require_viewer(ctx)?;
        require_active(ctx, viewer).await?;
        let target_type: TargetType = input.target_type.into();
        let target_id = parse_id("input.targetId", &input.target_id)?;
        let owner = target_owner(ctx, target_type, &target_id).await?;
        let report = Handles::of(ctx)?
            .reports
            .send(FileReport {
                reporter_id: viewer.user_id.clone(),
                target_type,
                target_id,
                target_owner_id: owner,
                reason: input.reason.into(),
                note: input.note,
            })
            .await?;
        Ok(Report(report))
    }

    /// Decides a report (ADMIN); every open report on the same target closes with it.
    async fn resolve_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        action: ModerationAction,
        note: Option<String>,
    ) -> FieldResult<Report> {
        let viewer = require_admin(ctx)?;
        require_active(ctx, viewer).await?;
        let report = Handles::of(ctx)?
            .reports
            .send(ResolveReport {
                id: parse_id("id", &id)?,
                admin_id: viewer.user_id.clone(),
                action: action.into(),
                note,
            })
            .await?;
        Ok(Report(report))
    }

    /// The owner of hidden content asks an admin to restore it.
    async fn appeal_moderation(
        &self,
        ctx: &Context<'_>,
        target_type: ReportTargetType,
        target_id: ID,
        note: String,
    ) -> FieldResult<Report> {
        let viewer = require_viewer(ctx)?;
        require_active(ctx, viewer).await?;
        let report = Handles::of(ctx)?
            .reports
            .send(Appeal {
                owner_id: viewer.user_id.clone(),
                target_type: target_type.into(),
                target_id: parse_id("targetId", &target_id)?,
                note,
            })
            .await?;
        Ok(Report(report))
    }
}

/// Asks the target's own domain whether it exists (and the reporter can see it), and
/// whose it is: NOT_FOUND otherwise.
async fn target_owner(
    ctx: &Context<'_>,
    target_type: TargetType,
    id: &str,
) -> ApiResult<Option<String>> {
    Ok(match target_type {
        TargetType::Campaign => Some(visible_campaign(ctx, id).await?.organizer_id),
        TargetType::Challenge => Some(visible_challenge(ctx, id).await?.1.organizer_id),
        TargetType::Submission => Some(visible_participation(ctx, id).await?.0.user_id),
        TargetType::User => Some(
            load_user(ctx, id)
                .await?
                .ok_or_else(|| ApiError::NotFound("user".to_owned()))?
                .id,
        ),
    })
}
