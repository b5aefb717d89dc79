use async_graphql::{
    Context, ID, InputObject, Object,
    connection::{Connection, Edge},
};
use gerak_actors::campaigns::{CampaignStatus as DomainStatus, FindCampaignBySlug, ListCampaigns};

use super::{Campaign, CampaignStatus, policy::can_see, visible_campaign};
use crate::{
    Handles,
    auth::optional_viewer,
    connection::{Cursor, Total, page_size},
    error::{ApiError, FieldResult},
    input::parse_id,
};

const CURSOR_KIND: &str = "campaign";

#[derive(InputObject, Default)]
pub struct CampaignFilter {
    pub status: Option<CampaignStatus>,
    /// Matches title or description, any case.
    pub search: Option<String>,
    pub organizer_id: Option<ID>,
}

#[derive(Default)]
pub struct CampaignsQuery;

#[Object]
impl CampaignsQuery {
    /// One campaign, by `id` or by `slug`. Hidden campaigns (and drafts, except for their
    /// organizer) are NOT_FOUND for everyone but admins.
    async fn campaign(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> FieldResult<Option<Campaign>> {
        let campaign = match (id, slug) {
            (Some(id), None) => visible_campaign(ctx, &parse_id("id", &id)?).await?,
            (None, Some(slug)) => {
                let viewer = optional_viewer(ctx)?;
                let found = Handles::of(ctx)?
                    .campaigns
                    .send(FindCampaignBySlug { slug })
                    .await?;
                match found {
                    Some(campaign) if can_see(viewer, &campaign) => campaign,
                    _ => return Err(ApiError::NotFound("campaign".to_owned()).into()),
                }
            }
            _ => {
                return Err(
                    ApiError::bad_input("id", "give exactly one of `id` and `slug`").into(),
                );
            }
        };
        Ok(Some(Campaign(campaign)))
    }

    /// Campaigns, newest first. Drafts are listed only for their organizer (and admins).
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CampaignFilter>,
    ) -> FieldResult<Connection<Cursor, Campaign, Total>> {
        let viewer = optional_viewer(ctx)?;
        let first = page_size(first)?;
        let after = Cursor::decode_after(CURSOR_KIND, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let organizer_id = filter
            .organizer_id
            .map(|id| parse_id("filter.organizerId", &id))
            .transpose()?;
        let admin = viewer.is_some_and(|v| v.is_admin());
        let own = viewer.is_some_and(|v| organizer_id.as_deref() == Some(v.user_id.as_str()));
        let status = filter.status.map(DomainStatus::from);
        if status == Some(DomainStatus::Draft) && !admin && !own {
            return Err(ApiError::Forbidden(
                "drafts are listed only for their organizer".to_owned(),
            )
            .into());
        }
        let page = Handles::of(ctx)?
            .campaigns
            .send(ListCampaigns {
                status,
                search: filter.search,
                organizer_id,
                include_hidden: admin,
                include_drafts: admin || own,
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
            page.campaigns
                .into_iter()
                .map(|c| Edge::new(Cursor::new(CURSOR_KIND, &c.id), Campaign(c))),
        );
        Ok(connection)
    }
}
