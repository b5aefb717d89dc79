use async_graphql::{Context, ID, Subscription};
use futures::{Stream, StreamExt};
use gerak_actors::donations::GetDonations;

use super::types::{CampaignProgress, Donation};
use crate::{
    Handles,
    campaigns::visible_campaign,
    error::{ApiError, FieldError},
    input::parse_id,
    money::Money,
};

#[derive(Default)]
pub struct DonationsSubscription;

#[Subscription]
impl DonationsSubscription {
    /// A campaign's raised total and counts, pushed as soon as they change.
    async fn campaign_progress(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
    ) -> Result<impl Stream<Item = CampaignProgress> + use<>, FieldError> {
        let campaign = visible_campaign(ctx, &parse_id("campaignId", &campaign_id)?).await?;
        let events = Handles::of(ctx)?.bus.subscribe();
        let wanted = campaign.id;
        Ok(events.filter_map(move |event| {
            let progress = (event.kind == "campaigns.campaign_progress"
                && event.data.get("campaignId").and_then(|v| v.as_str()) == Some(wanted.as_str()))
            .then(|| {
                let data = &event.data;
                Some(CampaignProgress {
                    campaign_id: ID(wanted.clone()),
                    raised: Money {
                        amount: data.get("raised")?.get("amount")?.as_str()?.to_owned(),
                        currency: data.get("raised")?.get("currency")?.as_str()?.to_owned(),
                    },
                    donor_count: data.get("donorCount")?.as_i64()? as i32,
                    participant_count: data.get("participantCount")?.as_i64()? as i32,
                })
            })
            .flatten();
            async move { progress }
        }))
    }

    /// Donations as they are paid, to one campaign or to all.
    async fn donation_received(
        &self,
        ctx: &Context<'_>,
        campaign_id: Option<ID>,
    ) -> Result<impl Stream<Item = Donation> + use<>, FieldError> {
        let wanted = match campaign_id {
            Some(id) => Some(
                visible_campaign(ctx, &parse_id("campaignId", &id)?)
                    .await?
                    .id,
            ),
            None => None,
        };
        let domains = Handles::of(ctx)?;
        let donations = domains.donations.clone();
        let events = domains.bus.subscribe();
        Ok(events.filter_map(move |event| {
            let donations = donations.clone();
            let matches = event.kind == "donations.donation_paid"
                && wanted
                    .as_deref()
                    .is_none_or(|w| event.data.get("campaignId").and_then(|v| v.as_str()) == Some(w));
            let id = event.data.get("donationId").and_then(|v| v.as_str()).map(str::to_owned);
            // The event carries the donation as it was paid; older events only its id.
            let carried = matches
                .then(|| gerak_actors::donations::Donation::from_event(&event.data))
                .flatten();
            async move {
                if let Some(donation) = carried {
                    return Some(Donation(donation));
                }
                let id = id.filter(|_| matches)?;
                match donations.send(GetDonations { ids: vec![id] }).await {
                    Ok(mut found) => found.pop().map(Donation),
                    Err(err) => {
                        tracing::warn!(error = %ApiError::from(err), "a paid donation could not be loaded for a subscriber");
                        None
                    }
                }
            }
        }))
    }
}
