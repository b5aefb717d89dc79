use async_graphql::{Context, Subscription};
use futures::{Stream, StreamExt};
use gerak_actors::reports::GetReports;

use super::Report;
use crate::{Handles, auth::require_admin, error::FieldError};

#[derive(Default)]
pub struct ReportsSubscription;

#[Subscription]
impl ReportsSubscription {
    /// New reports and appeals as they are filed (ADMIN).
    async fn moderation_queue(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Report> + use<>, FieldError> {
        require_admin(ctx)?;
        let domains = Handles::of(ctx)?;
        let reports = domains.reports.clone();
        let events = domains.bus.subscribe();
        Ok(events.filter_map(move |event| {
            let reports = reports.clone();
            async move {
                if event.kind != "reports.report_filed" {
                    return None;
                }
                let id = event.data.get("reportId")?.as_str()?.to_owned();
                match reports.send(GetReports { ids: vec![id] }).await {
                    Ok(mut found) => found.pop().map(Report),
                    Err(err) => {
                        tracing::warn!(error = %err, "a filed report could not be loaded for the moderation queue");
                        None
                    }
                }
            }
        }))
    }
}
