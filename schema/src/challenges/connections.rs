//! Lists of challenges and participations, shared by the fields that show them.

use async_graphql::{
    Context,
    connection::{Connection, Edge},
};
use gerak_actors::{
    campaigns::Campaign as CampaignRecord,
    challenges::{ListChallenges, ListParticipations, Page},
};

use super::{
    CampaignChallengesLoader, Challenge, ChallengeStatus, LeaderboardEntry, LeaderboardLoader,
    Participation, ParticipationStatus, loader::ChallengesKey,
};
use crate::{
    Handles,
    auth::{Viewer, optional_viewer},
    campaigns::can_manage,
    connection::{Cursor, Total, page_size},
    error::{ApiError, ApiResult},
    loaders::loader,
};

const CHALLENGE_CURSOR: &str = "challenge";
const PARTICIPATION_CURSOR: &str = "participation";
const MAX_LEADERBOARD: i32 = 100;

/// Challenges of one campaign (or of all when `campaign` is None), newest first. A
/// campaign's first page goes through the batching loader.
pub async fn challenge_connection(
    ctx: &Context<'_>,
    campaign: Option<&CampaignRecord>,
    first: Option<i32>,
    after: Option<String>,
    status: Option<ChallengeStatus>,
) -> ApiResult<Connection<Cursor, Challenge, Total>> {
    let viewer = optional_viewer(ctx)?;
    let first = page_size(first)?;
    let after = Cursor::decode_after(CHALLENGE_CURSOR, after.as_deref())?;
    let include_hidden = viewer.is_some_and(Viewer::is_admin);
    let include_drafts = match campaign {
        Some(campaign) => viewer.is_some_and(|v| can_manage(v, campaign)),
        None => include_hidden,
    };
    let status = status.map(Into::into);
    let page = match (campaign, &after) {
        (Some(campaign), None) => loader::<CampaignChallengesLoader>(ctx)?
            .load_one(ChallengesKey {
                campaign_id: campaign.id.clone(),
                status,
                include_hidden,
                include_drafts,
                first,
            })
            .await?
            .unwrap_or(Page {
                items: Vec::new(),
                has_next_page: false,
                total_count: 0,
            }),
        _ => {
            Handles::of(ctx)?
                .challenges
                .send(ListChallenges {
                    campaign_id: campaign.map(|c| c.id.clone()),
                    status,
                    include_hidden,
                    include_drafts,
                    after: after.clone(),
                    first,
                })
                .await?
        }
    };
    Ok(connection(
        page,
        after.is_some(),
        CHALLENGE_CURSOR,
        |c| c.id.clone(),
        Challenge,
    ))
}

/// Participations of a challenge or of a user, newest first.
pub async fn participation_connection(
    ctx: &Context<'_>,
    challenge_id: Option<&str>,
    user_id: Option<&str>,
    first: Option<i32>,
    after: Option<String>,
    status: Option<ParticipationStatus>,
) -> ApiResult<Connection<Cursor, Participation, Total>> {
    let viewer = optional_viewer(ctx)?;
    let first = page_size(first)?;
    let after = Cursor::decode_after(PARTICIPATION_CURSOR, after.as_deref())?;
    let page = Handles::of(ctx)?
        .challenges
        .send(ListParticipations {
            challenge_id: challenge_id.map(str::to_owned),
            user_id: user_id.map(str::to_owned),
            status: status.map(Into::into),
            include_hidden: viewer
                .is_some_and(|v| v.is_admin() || Some(v.user_id.as_str()) == user_id),
            after: after.clone(),
            first,
        })
        .await?;
    Ok(connection(
        page,
        after.is_some(),
        PARTICIPATION_CURSOR,
        |p| p.id.clone(),
        Participation,
    ))
}

pub async fn leaderboard(
    ctx: &Context<'_>,
    campaign_id: &str,
    first: Option<i32>,
) -> ApiResult<Vec<LeaderboardEntry>> {
    let first = match first {
        None => 10,
        Some(n) if (1..=MAX_LEADERBOARD).contains(&n) => n as u64,
        Some(_) => {
            return Err(ApiError::bad_input(
                "first",
                format!("must be between 1 and {MAX_LEADERBOARD}"),
            ));
        }
    };
    let entries = loader::<LeaderboardLoader>(ctx)?
        .load_one((campaign_id.to_owned(), first))
        .await?
        .unwrap_or_default();
    Ok(entries.into_iter().map(LeaderboardEntry).collect())
}

fn connection<R, N: async_graphql::OutputType>(
    page: Page<R>,
    has_previous: bool,
    kind: &str,
    key: impl Fn(&R) -> String,
    node: impl Fn(R) -> N,
) -> Connection<Cursor, N, Total> {
    let mut connection = Connection::with_additional_fields(
        has_previous,
        page.has_next_page,
        Total {
            total_count: page.total_count as i64,
        },
    );
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(Cursor::new(kind, &key(&item)), node(item))),
    );
    connection
}
