use async_graphql::{
    Context, ID, Object,
    connection::{Connection, Edge},
};
use gerak_actors::{
    money::Money as DomainMoney,
    reports::{GetChallengeStats, GetDashboard, ListReports},
};

use super::types::{AdminDashboard, ChallengeReport, Report, ReportStatus, ReportTargetType};
use crate::{
    Handles,
    auth::require_admin,
    challenges::{Challenge, visible_challenge},
    connection::{Cursor, Total, page_size},
    error::FieldResult,
    input::parse_id,
};

const CURSOR_KIND: &str = "report";

#[derive(Default)]
pub struct ReportsQuery;

#[Object]
impl ReportsQuery {
    /// The moderation queue, oldest first (ADMIN).
    async fn reports(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<ReportStatus>,
        target_type: Option<ReportTargetType>,
    ) -> FieldResult<Connection<Cursor, Report, Total>> {
        require_admin(ctx)?;
        let first = page_size(first)?;
        let after = Cursor::decode_after(CURSOR_KIND, after.as_deref())?;
        let page = Handles::of(ctx)?
            .reports
            .send(ListReports {
                status: status.map(Into::into),
                target_type: target_type.map(Into::into),
                after: after.clone(),
                first,
            })
            .await?;
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            page.has_next_page,
            Total {
                total_count: page.total_count as i64,
            },
        );
        connection.edges.extend(
            page.reports
                .into_iter()
                .map(|r| Edge::new(Cursor::new(CURSOR_KIND, &r.id), Report(r))),
        );
        Ok(connection)
    }

    /// Participation, reviews, money and reports of one challenge (ADMIN).
    async fn challenge_report(
        &self,
        ctx: &Context<'_>,
        challenge_id: ID,
    ) -> FieldResult<ChallengeReport> {
        require_admin(ctx)?;
        let (challenge, _) =
            visible_challenge(ctx, &parse_id("challengeId", &challenge_id)?).await?;
        let stats = Handles::of(ctx)?
            .reports
            .send(GetChallengeStats {
                challenge_id: challenge.id.clone(),
            })
            .await?;
        let donated = stats
            .donated
            .unwrap_or(DomainMoney::zero(challenge.reward.currency));
        Ok(ChallengeReport {
            challenge: Challenge(challenge),
            participants: stats.participants,
            submitted: stats.submitted,
            approved: stats.approved,
            rejected: stats.rejected,
            donated: donated.into(),
            open_reports: stats.open_reports,
        })
    }

    /// The platform at a glance (ADMIN).
    async fn dashboard(&self, ctx: &Context<'_>) -> FieldResult<AdminDashboard> {
        require_admin(ctx)?;
        let dashboard = Handles::of(ctx)?.reports.send(GetDashboard).await?;
        Ok(AdminDashboard {
            users: dashboard.users,
            sponsors: dashboard.sponsors,
            active_campaigns: dashboard.active_campaigns,
            raised: dashboard.raised.into_iter().map(Into::into).collect(),
            pending_reviews: dashboard.pending_reviews,
            open_reports: dashboard.open_reports,
        })
    }
}
