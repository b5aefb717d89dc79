use async_graphql::{
    Context, ID, Object,
    connection::{Connection, Edge},
};
use chrono::{DateTime, Utc};
use gerak_actors::donations::{GetStatement, ListDonations};

use super::{
    DonationLoader,
    types::{Donation, StatementEntry, StatementOwner},
};
use crate::{
    Handles,
    auth::{Viewer, require_viewer},
    campaigns::{CampaignLoader, can_manage},
    connection::{Cursor, Total, page_size},
    error::{ApiError, ApiResult, FieldResult},
    input::parse_id,
    loaders::loader,
    money::Money,
};

const DONATION_CURSOR: &str = "donation";
const ENTRY_CURSOR: &str = "entry";

/// Donations newest first, by campaign and/or donor.
pub async fn donation_connection(
    ctx: &Context<'_>,
    campaign_id: Option<String>,
    donor_id: Option<String>,
    paid_only: bool,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<Connection<Cursor, Donation, Total>> {
    let first = page_size(first)?;
    let after = Cursor::decode_after(DONATION_CURSOR, after.as_deref())?;
    let page = Handles::of(ctx)?
        .donations
        .send(ListDonations {
            campaign_id,
            donor_id,
            paid_only,
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
        page.donations
            .into_iter()
            .map(|d| Edge::new(Cursor::new(DONATION_CURSOR, &d.id), Donation(d))),
    );
    Ok(connection)
}

#[derive(Default)]
pub struct DonationsQuery;

#[Object]
impl DonationsQuery {
    /// One donation: its donor's or an admin's.
    async fn donation(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Donation>> {
        let viewer = require_viewer(ctx)?;
        let id = parse_id("id", &id)?;
        let found = loader::<DonationLoader>(ctx)?
            .load_one(id)
            .await
            .map_err(ApiError::from)?;
        match found {
            Some(d)
                if viewer.is_admin() || d.donor_id.as_deref() == Some(viewer.user_id.as_str()) =>
            {
                Ok(Some(Donation(d)))
            }
            // The same answer whether it exists or not: ids are not to be probed.
            _ => Err(ApiError::Forbidden(
                "only the donor or an admin may see this donation".to_owned(),
            )
            .into()),
        }
    }

    /// The caller's own donations (optionally of one campaign); admins may ask for anyone's.
    async fn donations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        campaign_id: Option<ID>,
        donor_id: Option<ID>,
    ) -> FieldResult<Connection<Cursor, Donation, Total>> {
        let viewer = require_viewer(ctx)?;
        let campaign_id = campaign_id
            .map(|id| parse_id("campaignId", &id))
            .transpose()?;
        let donor_id = donor_id.map(|id| parse_id("donorId", &id)).transpose()?;
        let donor_id = match donor_id {
            Some(id) if viewer.is_admin() || id == viewer.user_id => Some(id),
            Some(_) => {
                return Err(
                    ApiError::Forbidden("you may list only your own donations".to_owned()).into(),
                );
            }
            None if viewer.is_admin() => None,
            None => Some(viewer.user_id.clone()),
        };
        Ok(donation_connection(ctx, campaign_id, donor_id, false, first, after).await?)
    }

    /// An account's statement over a period (default: everything until now). A user's
    /// own account, a campaign's for its organizer; admins see every account.
    async fn account_statement(
        &self,
        ctx: &Context<'_>,
        owner_type: StatementOwner,
        owner_id: ID,
        #[graphql(default_with = "Some(\"IDR\".to_owned())")] currency: Option<String>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> FieldResult<AccountStatement> {
        let viewer = require_viewer(ctx)?;
        let owner_id = parse_id("ownerId", &owner_id)?;
        may_read_statement(ctx, viewer, owner_type, &owner_id).await?;
        // The beginning of the books: before any platform (and any legacy) money moved,
        // and a date every database can store.
        let from = from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let to = to.unwrap_or_else(|| Utc::now() + chrono::Duration::seconds(1));
        let request = GetStatement {
            owner_type: owner_type.into(),
            owner_id: owner_id.clone(),
            currency: currency.unwrap_or_else(|| "IDR".to_owned()),
            from,
            to,
            after: None,
            first: 0,
        };
        let statement = Handles::of(ctx)?.donations.send(request.clone()).await?;
        Ok(AccountStatement {
            owner_type,
            owner_id: ID(owner_id),
            currency: statement.opening_balance.currency.code().to_owned(),
            from,
            to,
            opening_balance: statement.opening_balance.into(),
            total_in: statement.total_in.into(),
            total_out: statement.total_out.into(),
            closing_balance: statement.closing_balance.into(),
            request,
        })
    }
}

/// FORBIDDEN for anyone but the owner and admins, whatever id they try (an unknown
/// campaign is FORBIDDEN too, so ids cannot be probed).
async fn may_read_statement(
    ctx: &Context<'_>,
    viewer: &Viewer,
    owner_type: StatementOwner,
    owner_id: &str,
) -> ApiResult<()> {
    if viewer.is_admin() {
        return Ok(());
    }
    let allowed = match owner_type {
        StatementOwner::User => viewer.user_id == owner_id,
        StatementOwner::Campaign => loader::<CampaignLoader>(ctx)?
            .load_one(owner_id.to_owned())
            .await?
            .is_some_and(|campaign| can_manage(viewer, &campaign)),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the account's owner or an admin may read this statement".to_owned(),
        ))
    }
}

/// Money in and out of one account over a period.
pub struct AccountStatement {
    owner_type: StatementOwner,
    owner_id: ID,
    currency: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    opening_balance: Money,
    total_in: Money,
    total_out: Money,
    closing_balance: Money,
    request: GetStatement,
}

#[Object]
impl AccountStatement {
    async fn owner_type(&self) -> StatementOwner {
        self.owner_type
    }

    async fn owner_id(&self) -> &ID {
        &self.owner_id
    }

    async fn currency(&self) -> &str {
        &self.currency
    }

    async fn from(&self) -> DateTime<Utc> {
        self.from
    }

    async fn to(&self) -> DateTime<Utc> {
        self.to
    }

    async fn opening_balance(&self) -> &Money {
        &self.opening_balance
    }

    async fn total_in(&self) -> &Money {
        &self.total_in
    }

    /// What went out, as a positive amount.
    async fn total_out(&self) -> &Money {
        &self.total_out
    }

    /// Opening + in − out.
    async fn closing_balance(&self) -> &Money {
        &self.closing_balance
    }

    /// The entries of the period, oldest first, each with the balance after it.
    async fn entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<Cursor, StatementEntry, Total>> {
        let first = page_size(first)?;
        let after = Cursor::decode_after(ENTRY_CURSOR, after.as_deref())?;
        let mut request = self.request.clone();
        request.first = first;
        request.after = after.clone();
        let statement = Handles::of(ctx)?.donations.send(request).await?;
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            statement.has_next_page,
            Total {
                total_count: statement.total_count as i64,
            },
        );
        connection.edges.extend(
            statement
                .lines
                .into_iter()
                .map(|l| Edge::new(Cursor::new(ENTRY_CURSOR, &l.id), StatementEntry(l))),
        );
        Ok(connection)
    }
}
