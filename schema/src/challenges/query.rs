use async_graphql::{Context, ID, Object, connection::Connection};

use super::{Challenge, ChallengeStatus, challenge_connection, visible_challenge};
use crate::{
    campaigns::visible_campaign,
    connection::{Cursor, Total},
    error::FieldResult,
    input::parse_id,
};

#[derive(Default)]
pub struct ChallengesQuery;

#[Object]
impl ChallengesQuery {
    /// One challenge; NOT_FOUND when it, or its campaign, is hidden from the caller.
    async fn challenge(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Challenge>> {
        let (challenge, _) = visible_challenge(ctx, &parse_id("id", &id)?).await?;
        Ok(Some(Challenge(challenge)))
    }

    /// Challenges of a campaign, or of every campaign, newest first.
    async fn challenges(
        &self,
        ctx: &Context<'_>,
        campaign_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<ChallengeStatus>,
    ) -> FieldResult<Connection<Cursor, Challenge, Total>> {
        let campaign = match campaign_id {
            Some(id) => Some(visible_campaign(ctx, &parse_id("campaignId", &id)?).await?),
            None => None,
        };
        Ok(challenge_connection(ctx, campaign.as_ref(), first, after, status).await?)
    }
}
