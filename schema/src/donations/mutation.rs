use async_graphql::{Context, ID, InputObject, Object};
use gerak_actors::{
    campaigns::CampaignStatus,
    donations::{Donate, RecordPayment, RefundDonation},
    users::Role,
};

use super::types::Donation;
use crate::{
    Handles,
    auth::{require_admin, require_viewer},
    campaigns::visible_campaign,
    error::{ApiError, FieldResult},
    input::parse_id,
    money::MoneyInput,
    users::require_active,
};

#[derive(InputObject)]
pub struct DonateInput {
    pub campaign_id: ID,
    /// In the campaign's currency.
    pub amount: MoneyInput,
    /// Hides the donor from everyone but admins.
    #[graphql(default_with = "Some(false)")]
    pub anonymous: Option<bool>,
}

/// The payment provider's answer, as the `gerak.payments` channel carries it.
#[derive(InputObject)]
pub struct PaymentEventInput {
    pub payment_ref: String,
    pub succeeded: bool,
    /// Must equal the donation's amount and currency, or the event is rejected.
    pub amount: MoneyInput,
}

#[derive(Default)]
pub struct DonationsMutation;

#[Object]
impl DonationsMutation {
    /// A PENDING donation to an ACTIVE campaign, with the `paymentRef` to pay it by.
    async fn donate(&self, ctx: &Context<'_>, input: DonateInput) -> FieldResult<Donation> {
        let viewer = require_viewer(ctx)?;
        require_active(ctx, viewer).await?;
        let campaign =
            visible_campaign(ctx, &parse_id("input.campaignId", &input.campaign_id)?).await?;
        if campaign.status != CampaignStatus::Active {
            return Err(ApiError::bad_input(
                "input.campaignId",
                format!("the campaign is {}, not ACTIVE", campaign.status.name()),
            )
            .into());
        }
        let donation = Handles::of(ctx)?
            .donations
            .send(Donate {
                donor_id: viewer.user_id.clone(),
                campaign_id: campaign.id.clone(),
                campaign_currency: campaign.raised.currency.code().to_owned(),
                amount: input.amount.parse("input.amount")?,
                anonymous: input.anonymous.unwrap_or(false),
            })
            .await?;
        Ok(Donation(donation))
    }

    /// Applies a payment result (SERVICE or ADMIN): once per paymentRef, however often sent.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        input: PaymentEventInput,
    ) -> FieldResult<Donation> {
        let viewer = require_viewer(ctx)?;
        if !matches!(viewer.role, Role::Service | Role::Admin) {
            return Err(ApiError::Forbidden(
                "only the payment service or an admin may record payments".to_owned(),
            )
            .into());
        }
        let account = require_active(ctx, viewer).await?;
        if !matches!(account.role, Role::Service | Role::Admin) {
            return Err(ApiError::Forbidden(
                "only the payment service or an admin may record payments".to_owned(),
            )
            .into());
        }
        let donation = Handles::of(ctx)?
            .donations
            .send(RecordPayment {
                payment_ref: input.payment_ref,
                succeeded: input.succeeded,
                amount: input.amount.parse("input.amount")?,
            })
            .await?;
        Ok(Donation(donation))
    }

    /// Refunds a PAID donation (ADMIN), in part when `amount` is given; never beyond it.
    async fn refund_donation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        amount: Option<MoneyInput>,
    ) -> FieldResult<Donation> {
        let viewer = require_admin(ctx)?;
        require_active(ctx, viewer).await?;
        let donation = Handles::of(ctx)?
            .donations
            .send(RefundDonation {
                id: parse_id("id", &id)?,
                amount: amount.map(|a| a.parse("amount")).transpose()?,
            })
            .await?;
        Ok(Donation(donation))
    }
}
