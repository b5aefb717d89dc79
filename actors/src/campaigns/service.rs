//! The campaigns domain's logic, run by its actor.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use gerak_entities::campaigns::{campaign, campaign_member};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, SqlErr,
    TransactionTrait,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use serde_json::json;

use super::{messages::*, slug};
use crate::{
    DomainError,
    bus::Event,
    db::{DomainDb, Order},
    money::{Currency, Money},
    runtime::{
        ApplyEvent, ApplyEvents, Domain, DomainService, Outbox, claim_all, commit_with,
        event_money as money, event_text as text,
    },
    validate::{MAX_DESCRIPTION, MAX_TITLE, optional_url, period, required_text, search_pattern},
};

#[derive(Clone)]
pub struct CampaignsService {
    pub(crate) db: DomainDb,
    pub(crate) outbox: Outbox,
}

impl DomainService for CampaignsService {
    const DOMAIN: Domain = Domain::Campaigns;

    fn db(&self) -> &DomainDb {
        &self.db
    }
}

impl CampaignsService {
    pub async fn create(self, msg: CreateCampaign) -> Result<Campaign, DomainError> {
        let title = required_text("title", &msg.title, MAX_TITLE)?;
        let description = required_text("description", &msg.description, MAX_DESCRIPTION)?;
        let banner_url = optional_url("bannerUrl", msg.banner_url)?;
        if let Some(goal) = msg.goal {
            positive("goal.amount", goal)?;
        }
        period(msg.starts_at, msg.ends_at)?;
        let currency = msg
            .goal
            .map(|g| g.currency)
            .map_or_else(|| Currency::parse("currency", "IDR"), Ok)?;
        let chosen_slug = match msg.slug.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(given) if slug::is_valid(given) => Some(given.to_owned()),
            Some(_) => {
                return Err(DomainError::invalid(
                    "slug",
                    format!(
                        "must be lower-case letters, digits and single dashes, at most {} characters",
                        slug::MAX_LEN
                    ),
                ));
            }
            None => None,
        };
        let base = chosen_slug
            .clone()
            .unwrap_or_else(|| slug::from_title(&title));
        let now = Utc::now();
        // A generated slug gets a suffix on collision; a chosen one is a CONFLICT.
        for attempt in 1..=50u32 {
            let candidate = if attempt == 1 {
                base.clone()
            } else {
                format!("{base}-{attempt}")
            };
            let row = campaign::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                legacy_id: Set(None),
                slug: Set(candidate),
                title: Set(title.clone()),
                description: Set(description.clone()),
                banner_url: Set(banner_url.clone()),
                status: Set(campaign::CampaignStatus::Draft),
                goal_minor: Set(msg.goal.map(|g| g.minor)),
                currency: Set(currency.code().to_owned()),
                raised_minor: Set(0),
                donor_count: Set(0),
                participant_count: Set(0),
                starts_at: Set(msg.starts_at),
                ends_at: Set(msg.ends_at),
                hidden: Set(false),
                organizer_id: Set(msg.organizer_id.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            };
            // One transaction per attempt: on PostgreSQL a failed insert ends its transaction.
            let txn = self
                .db
                .write
                .begin()
                .await
                .map_err(|e| self.db.map_err(e))?;
            match row.insert(&txn).await {
                Ok(row) => {
                    let campaign = to_record(row)?;
                    let event = Event::new(
                        Domain::Campaigns,
                        "campaign_created",
                        json!({ "campaignId": campaign.id, "organizerId": campaign.organizer_id, "slug": campaign.slug, "status": campaign.status, "currency": campaign.raised.currency }),
                    );
                    commit_with(&self.db, &self.outbox, txn, vec![event]).await?;
                    return Ok(campaign);
                }
                Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    if chosen_slug.is_some() {
                        return Err(DomainError::Conflict(format!(
                            "the slug `{base}` is already taken"
                        )));
                    }
                }
                Err(err) => return Err(self.db.map_err(err)),
            }
        }
        Err(DomainError::Conflict(format!(
            "no free slug near `{base}`; choose one"
        )))
    }

    pub async fn update(self, msg: UpdateCampaign) -> Result<Campaign, DomainError> {
        let row = self.existing(&msg.id).await?;
        let starts_at = msg.starts_at.unwrap_or(row.starts_at);
        let ends_at = msg.ends_at.unwrap_or(row.ends_at);
        period(starts_at, ends_at)?;
        let currency = row.currency.clone();
        let mut change: campaign::ActiveModel = row.into();
        if let Some(title) = msg.title {
            change.title = Set(required_text("title", &title, MAX_TITLE)?);
        }
        if let Some(description) = msg.description {
            change.description = Set(required_text("description", &description, MAX_DESCRIPTION)?);
        }
        if let Some(banner_url) = msg.banner_url {
            change.banner_url = Set(optional_url("bannerUrl", banner_url)?);
        }
        if let Some(goal) = msg.goal {
            if let Some(goal) = goal {
                positive("goal.amount", goal)?;
                if goal.currency.code() != currency {
                    return Err(DomainError::invalid(
                        "goal.currency",
                        format!("must be the campaign's currency, {currency}"),
                    ));
                }
            }
            change.goal_minor = Set(goal.map(|g| g.minor));
        }
        change.starts_at = Set(starts_at);
        change.ends_at = Set(ends_at);
        change.updated_at = Set(Utc::now());
        let row = change
            .update(&self.db.write)
            .await
            .map_err(|e| self.db.map_err(e))?;
        to_record(row)
    }

    pub async fn set_status(self, msg: SetCampaignStatus) -> Result<Campaign, DomainError> {
        let row = self.existing(&msg.id).await?;
        let current = status_from(row.status);
        if current == msg.status {
            return to_record(row);
        }
        if !current.can_become(msg.status) {
            return Err(DomainError::invalid(
                "status",
                format!(
                    "a campaign cannot go from {} to {}",
                    current.name(),
                    msg.status.name()
                ),
            ));
        }
        // Only move from the status we read: a concurrent change makes this a CONFLICT.
        let txn = self
            .db
            .write
            .begin()
            .await
            .map_err(|e| self.db.map_err(e))?;
        let moved = campaign::Entity::update_many()
            .col_expr(campaign::Column::Status, Expr::value(status_to(msg.status)))
            .col_expr(campaign::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(campaign::Column::Id.eq(msg.id.clone()))
            .filter(campaign::Column::Status.eq(row.status))
            .exec(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        if moved.rows_affected != 1 {
            return Err(DomainError::Conflict(
                "the campaign's status changed meanwhile; try again".to_owned(),
            ));
        }
        let campaign = to_record(
            campaign::Entity::find_by_id(msg.id.clone())
                .one(&txn)
                .await
                .map_err(|e| self.db.map_err(e))?
                .ok_or_else(|| DomainError::not_found("campaign"))?,
        )?;
        let event = Event::new(
            Domain::Campaigns,
            "campaign_status_changed",
            json!({ "campaignId": campaign.id, "previousStatus": current, "status": campaign.status, "organizerId": campaign.organizer_id }),
        );
        commit_with(&self.db, &self.outbox, txn, vec![event]).await?;
        Ok(campaign)
    }

    pub async fn get(self, msg: GetCampaigns) -> Result<Vec<Campaign>, DomainError> {
        if msg.ids.is_empty() {
            return Ok(Vec::new());
        }
        campaign::Entity::find()
            .filter(campaign::Column::Id.is_in(msg.ids))
            .all(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?
            .into_iter()
            .map(to_record)
            .collect()
    }

    pub async fn find_by_slug(
        self,
        msg: FindCampaignBySlug,
    ) -> Result<Option<Campaign>, DomainError> {
        campaign::Entity::find()
            .filter(campaign::Column::Slug.eq(msg.slug.trim().to_lowercase()))
            .one(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?
            .map(to_record)
            .transpose()
    }

    pub async fn list(self, msg: ListCampaigns) -> Result<CampaignPage, DomainError> {
        let mut filter = Condition::all();
        if let Some(status) = msg.status {
            filter = filter.add(campaign::Column::Status.eq(status_to(status)));
        }
        if let Some(organizer) = &msg.organizer_id {
            filter = filter.add(campaign::Column::OrganizerId.eq(organizer.clone()));
        }
        if !msg.include_hidden {
            filter = filter.add(campaign::Column::Hidden.eq(false));
        }
        if !msg.include_drafts {
            filter = filter.add(campaign::Column::Status.ne(campaign::CampaignStatus::Draft));
        }
        if let Some(pattern) = search_pattern(msg.search.as_deref())? {
            filter = filter.add(
                Condition::any()
                    .add(
                        Expr::expr(Func::lower(Expr::col(campaign::Column::Title)))
                            .like(LikeExpr::new(pattern.clone()).escape('\\')),
                    )
                    .add(
                        Expr::expr(Func::lower(Expr::col(campaign::Column::Description)))
                            .like(LikeExpr::new(pattern).escape('\\')),
                    ),
            );
        }
        let page = self
            .db
            .keyset_page::<campaign::Entity>(
                filter,
                campaign::Column::Id,
                msg.after,
                msg.first,
                Order::NewestFirst,
            )
            .await?;
        let (rows, has_next_page, total_count) = (page.rows, page.has_next_page, page.total_count);
        Ok(CampaignPage {
            campaigns: rows.into_iter().map(to_record).collect::<Result<_, _>>()?,
            has_next_page,
            total_count,
        })
    }

    pub async fn apply(self, ApplyEvent(event): ApplyEvent) -> Result<(), DomainError> {
        self.apply_all(ApplyEvents(vec![event])).await
    }

    /// Keeps the projections: participants, donors, raised, and moderation's hiding. All
    /// the events in one transaction: their members in one insert, then one update per
    /// campaign they changed (the batch's sums), and one progress event per campaign with
    /// its totals after all of them.
    pub async fn apply_all(self, ApplyEvents(events): ApplyEvents) -> Result<(), DomainError> {
        let txn = self
            .db
            .write
            .begin()
            .await
            .map_err(|e| self.db.map_err(e))?;
        let mut fresh = claim_all(&txn, &events)
            .await
            .map_err(|e| self.db.map_err(e))?;
        let mut batch = Batch::default();
        for event in &events {
            if fresh.remove(&event.id) {
                self.apply_in(&txn, event, &mut batch).await?;
            }
        }
        let joined = self.add_members(&txn, &batch.members).await?;
        let mut updates: Vec<(&String, &Totals)> = batch.totals.iter().collect();
        // In id order: concurrent batches (PostgreSQL) lock their campaigns in one order.
        updates.sort_by_key(|(campaign_id, _)| *campaign_id);
        for (campaign_id, totals) in updates {
            let (donors, participants) = joined.get(campaign_id).copied().unwrap_or((0, 0));
            self.add_totals(&txn, campaign_id, totals, donors, participants)
                .await?;
        }
        let progress = self.progress(&txn, &batch.changed).await?;
        commit_with(&self.db, &self.outbox, txn, progress).await
    }

    /// Applies one event in `txn`, or adds what it changes to `batch`.
    async fn apply_in(
        &self,
        txn: &DatabaseTransaction,
        event: &Event,
        batch: &mut Batch,
    ) -> Result<(), DomainError> {
        let data = &event.data;
        match event.kind.as_str() {
            "challenges.participation_joined" => {
                let campaign_id = text(data, "campaignId")?;
                batch.member(campaign_id, text(data, "userId")?, PARTICIPANT);
            }
            "donations.donation_paid" => {
                let campaign_id = text(data, "campaignId")?;
                batch.raise(campaign_id, money(data, "amount")?)?;
                if let Some(donor) = data.get("donorId").and_then(|v| v.as_str()) {
                    batch.member(campaign_id, donor, DONOR);
                }
            }
            "donations.donation_refunded" => {
                let campaign_id = text(data, "campaignId")?;
                let refunded = money(data, "refundedNow")?;
                batch.raise(campaign_id, Money::new(-refunded.minor, refunded.currency))?;
            }
            "reports.content_hidden" | "reports.content_restored"
                if text(data, "targetType")? == "CAMPAIGN" =>
            {
                let hidden = event.kind == "reports.content_hidden";
                campaign::Entity::update_many()
                    .col_expr(campaign::Column::Hidden, Expr::value(hidden))
                    .filter(campaign::Column::Id.eq(text(data, "targetId")?))
                    .exec(txn)
                    .await
                    .map_err(|e| self.db.map_err(e))?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The campaigns' totals as they are in `txn`, as `campaign_progress` events, in the
    /// order given.
    async fn progress(
        &self,
        txn: &DatabaseTransaction,
        campaign_ids: &[String],
    ) -> Result<Vec<Event>, DomainError> {
        if campaign_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = campaign::Entity::find()
            .filter(campaign::Column::Id.is_in(campaign_ids.iter().cloned()))
            .all(txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        let mut rows: HashMap<String, campaign::Model> =
            rows.into_iter().map(|row| (row.id.clone(), row)).collect();
        let mut events = Vec::with_capacity(campaign_ids.len());
        for campaign_id in campaign_ids {
            let Some(row) = rows.remove(campaign_id) else {
                continue;
            };
            let campaign = to_record(row)?;
            events.push(Event::new(
                Domain::Campaigns,
                "campaign_progress",
                json!({
                    "campaignId": campaign.id,
                    "raised": { "amount": campaign.raised.amount(), "currency": campaign.raised.currency },
                    "donorCount": campaign.donor_count,
                    "participantCount": campaign.participant_count,
                }),
            ));
        }
        Ok(events)
    }

    /// Inserts the members not there yet; returns, per campaign, how many donors and
    /// participants were new.
    async fn add_members(
        &self,
        txn: &DatabaseTransaction,
        members: &BTreeSet<(String, &'static str, String)>,
    ) -> Result<HashMap<String, (i64, i64)>, DomainError> {
        let mut joined: HashMap<String, (i64, i64)> = HashMap::new();
        if members.is_empty() {
            return Ok(joined);
        }
        let since = Utc::now();
        // In key order (the set's): concurrent batches wait for each other, never deadlock.
        let rows = members
            .iter()
            .map(
                |(campaign_id, kind, user_id)| campaign_member::ActiveModel {
                    campaign_id: Set(campaign_id.clone()),
                    user_id: Set(user_id.clone()),
                    kind: Set((*kind).to_owned()),
                    since: Set(since),
                },
            )
            .collect();
        let inserted = crate::batch_sql::insert_rows_returning(
            txn,
            rows,
            &[
                campaign_member::Column::CampaignId,
                campaign_member::Column::Kind,
                campaign_member::Column::UserId,
            ],
        )
        .await
        .map_err(|e| self.db.map_err(e))?;
        for member in inserted {
            let counts = joined.entry(member.campaign_id).or_default();
            if member.kind == DONOR {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
        }
        Ok(joined)
    }

    /// Adds a batch's sums to one campaign: raised in each currency (only the campaign's
    /// own counts), and the donors and participants who joined.
    async fn add_totals(
        &self,
        txn: &DatabaseTransaction,
        campaign_id: &str,
        totals: &Totals,
        donors: i64,
        participants: i64,
    ) -> Result<(), DomainError> {
        for (currency, minor) in &totals.raised {
            let result = campaign::Entity::update_many()
                .col_expr(
                    campaign::Column::RaisedMinor,
                    Expr::col(campaign::Column::RaisedMinor).add(*minor),
                )
                .filter(campaign::Column::Id.eq(campaign_id.to_owned()))
                .filter(campaign::Column::Currency.eq(currency.code()))
                .exec(txn)
                .await
                .map_err(|e| self.db.map_err(e))?;
            if result.rows_affected != 1 {
                let amount = Money::new(*minor, *currency);
                tracing::error!(campaign_id, amount = %amount, "donation events name no campaign in their currency; not counted");
            }
        }
        if donors != 0 || participants != 0 {
            campaign::Entity::update_many()
                .col_expr(
                    campaign::Column::DonorCount,
                    Expr::col(campaign::Column::DonorCount).add(donors),
                )
                .col_expr(
                    campaign::Column::ParticipantCount,
                    Expr::col(campaign::Column::ParticipantCount).add(participants),
                )
                .filter(campaign::Column::Id.eq(campaign_id.to_owned()))
                .exec(txn)
                .await
                .map_err(|e| self.db.map_err(e))?;
        }
        Ok(())
    }

    async fn existing(&self, id: &str) -> Result<campaign::Model, DomainError> {
        campaign::Entity::find_by_id(id.to_owned())
            .one(&self.db.write)
            .await
            .map_err(|e| self.db.map_err(e))?
            .ok_or_else(|| DomainError::not_found("campaign"))
    }
}

const DONOR: &str = "donor";
const PARTICIPANT: &str = "participant";

/// What a batch of events changes, summed: applied after all of them are read.
#[derive(Default)]
struct Batch {
    /// Campaigns whose totals change, in the order the events first name them.
    changed: Vec<String>,
    totals: HashMap<String, Totals>,
    /// (campaign, kind, user) of every member the events name.
    members: BTreeSet<(String, &'static str, String)>,
}

#[derive(Default)]
struct Totals {
    raised: HashMap<Currency, i64>,
}

impl Batch {
    fn touch(&mut self, campaign_id: &str) -> &mut Totals {
        if !self.totals.contains_key(campaign_id) {
            self.changed.push(campaign_id.to_owned());
        }
        self.totals.entry(campaign_id.to_owned()).or_default()
    }

    fn raise(&mut self, campaign_id: &str, amount: Money) -> Result<(), DomainError> {
        let raised = self
            .touch(campaign_id)
            .raised
            .entry(amount.currency)
            .or_default();
        *raised = raised.checked_add(amount.minor).ok_or_else(|| {
            DomainError::Internal("a batch's donations overflow a campaign's total".to_owned())
        })?;
        Ok(())
    }

    fn member(&mut self, campaign_id: &str, user_id: &str, kind: &'static str) {
        self.touch(campaign_id);
        self.members
            .insert((campaign_id.to_owned(), kind, user_id.to_owned()));
    }
}

fn positive(field: &str, money: Money) -> Result<(), DomainError> {
    if money.minor <= 0 {
        Err(DomainError::invalid(field, "must be positive"))
    } else {
        Ok(())
    }
}

fn status_from(status: campaign::CampaignStatus) -> CampaignStatus {
    match status {
        campaign::CampaignStatus::Draft => CampaignStatus::Draft,
        campaign::CampaignStatus::Active => CampaignStatus::Active,
        campaign::CampaignStatus::Ended => CampaignStatus::Ended,
        campaign::CampaignStatus::Archived => CampaignStatus::Archived,
    }
}

fn status_to(status: CampaignStatus) -> campaign::CampaignStatus {
    match status {
        CampaignStatus::Draft => campaign::CampaignStatus::Draft,
        CampaignStatus::Active => campaign::CampaignStatus::Active,
        CampaignStatus::Ended => campaign::CampaignStatus::Ended,
        CampaignStatus::Archived => campaign::CampaignStatus::Archived,
    }
}

fn to_record(row: campaign::Model) -> Result<Campaign, DomainError> {
    let currency = Currency::parse("currency", &row.currency).map_err(|_| {
        DomainError::Internal(format!(
            "campaign {} has an unknown currency `{}`",
            row.id, row.currency
        ))
    })?;
    Ok(Campaign {
        id: row.id,
        legacy_id: row.legacy_id,
        slug: row.slug,
        title: row.title,
        description: row.description,
        banner_url: row.banner_url,
        status: status_from(row.status),
        goal: row.goal_minor.map(|m| Money::new(m, currency)),
        raised: Money::new(row.raised_minor, currency),
        donor_count: row.donor_count,
        participant_count: row.participant_count,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        hidden: row.hidden,
        organizer_id: row.organizer_id,
        created_at: row.created_at,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use gerak_entities::outbox::outbox_event;
    use sea_orm::QueryOrder;

    use super::*;
    use crate::{db::ScratchDb, runtime::Outbox};

    async fn campaign(service: &CampaignsService, title: &str) -> String {
        let created = service
            .clone()
            .create(CreateCampaign {
                organizer_id: uuid::Uuid::now_v7().to_string(),
                title: title.to_owned(),
                slug: None,
                description: "Plant mangroves".to_owned(),
                banner_url: None,
                goal: Some(Money::parse("goal", "100000", "IDR").unwrap()),
                starts_at: None,
                ends_at: None,
            })
            .await
            .unwrap();
        created.id
    }

    fn paid(campaign_id: &str, donor: &str, amount: &str) -> Arc<Event> {
        Arc::new(Event::new(
            Domain::Donations,
            "donation_paid",
            json!({ "campaignId": campaign_id, "donorId": donor, "amount": { "amount": amount, "currency": "IDR" } }),
        ))
    }

    fn refunded(campaign_id: &str, amount: &str) -> Arc<Event> {
        Arc::new(Event::new(
            Domain::Donations,
            "donation_refunded",
            json!({ "campaignId": campaign_id, "refundedNow": { "amount": amount, "currency": "IDR" } }),
        ))
    }

    fn joined(campaign_id: &str, user: &str) -> Arc<Event> {
        Arc::new(Event::new(
            Domain::Challenges,
            "participation_joined",
            json!({ "campaignId": campaign_id, "userId": user }),
        ))
    }

    /// Raised, donors, participants.
    async fn totals(service: &CampaignsService, id: &str) -> (i64, i64, i64) {
        let found = service
            .clone()
            .get(GetCampaigns {
                ids: vec![id.to_owned()],
            })
            .await
            .unwrap();
        let campaign = &found[0];
        (
            campaign.raised.minor,
            campaign.donor_count,
            campaign.participant_count,
        )
    }

    #[tokio::test]
    async fn a_batch_of_events_sums_to_what_they_make_one_by_one() {
        let scratch = ScratchDb::open(Domain::Campaigns).await.unwrap();
        let service = CampaignsService {
            db: scratch.db.clone(),
            outbox: Outbox::default(),
        };
        let (batched, single, other) = (
            campaign(&service, "Batched").await,
            campaign(&service, "Single").await,
            campaign(&service, "Other").await,
        );
        let (ani, budi, citra) = ("ani", "budi", "citra");
        let events = |c: &str| {
            vec![
                paid(c, ani, "1000"),
                joined(c, citra),
                paid(c, ani, "500"),
                paid(c, budi, "250"),
                refunded(c, "300"),
                joined(c, citra),
                joined(c, ani),
            ]
        };
        let mut batch = events(&batched);
        // Delivered twice within the batch: applied once.
        batch.push(batch[0].clone());
        batch.push(paid(&other, budi, "70"));
        service
            .clone()
            .apply_all(ApplyEvents(batch.clone()))
            .await
            .unwrap();
        for event in events(&single) {
            service.clone().apply(ApplyEvent(event)).await.unwrap();
        }
        // 1000 + 500 + 250 - 300 rupiah (in sen); donors ani and budi; participants citra
        // and ani.
        assert_eq!(totals(&service, &batched).await, (145_000, 2, 2));
        assert_eq!(totals(&service, &single).await, (145_000, 2, 2));
        assert_eq!(totals(&service, &other).await, (7_000, 1, 0));

        // The same batch again (a redelivery) changes nothing; a known donor is not new.
        service.clone().apply_all(ApplyEvents(batch)).await.unwrap();
        service
            .clone()
            .apply_all(ApplyEvents(vec![
                paid(&batched, budi, "5"),
                paid(&other, ani, "1"),
            ]))
            .await
            .unwrap();
        assert_eq!(totals(&service, &batched).await, (145_500, 2, 2));
        assert_eq!(totals(&service, &other).await, (7_100, 2, 0));

        // One progress event per campaign a batch changed, with its totals after the batch.
        let progress: Vec<serde_json::Value> = outbox_event::Entity::find()
            .filter(outbox_event::Column::EventType.eq("campaigns.campaign_progress"))
            .order_by_asc(outbox_event::Column::Seq)
            .all(&scratch.db.read)
            .await
            .unwrap()
            .iter()
            .map(|row| serde_json::from_str::<Event>(&row.payload).unwrap().data)
            .filter(|data| data["campaignId"] == batched)
            .collect();
        assert_eq!(progress.len(), 2, "{progress:?}");
        assert_eq!(progress[0]["raised"]["amount"], "1450.00");
        assert_eq!(progress[0]["donorCount"], 2);
        assert_eq!(progress[0]["participantCount"], 2);
        assert_eq!(progress[1]["raised"]["amount"], "1455.00");
    }
}
