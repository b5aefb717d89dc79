//! The challenges domain's logic, run by its actor.

use std::collections::HashMap;

use chrono::Utc;
use gerak_entities::challenges::{challenge, leaderboard_entry, participation};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    SqlErr, TransactionTrait,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use serde_json::json;

use super::messages::*;
use crate::{
    DomainError,
    bus::Event,
    db::{DomainDb, KeysetPage, Order},
    money::{Currency, Money},
    runtime::{
        ApplyEvent, ApplyEvents, Domain, DomainService, Outbox, claim, commit_with, event_text,
        one_by_one,
    },
    validate::{MAX_DESCRIPTION, MAX_TITLE, https_url, optional_text, period, required_text},
};

const MAX_QUOTA: i32 = 1_000_000;
/// The largest reward per action, in major units: anything above is a typo.
const MAX_REWARD_MAJOR: i64 = 100_000_000;
const MAX_NOTE: usize = 1000;

#[derive(Clone)]
pub struct ChallengesService {
    pub(crate) db: DomainDb,
    pub(crate) outbox: Outbox,
}

impl DomainService for ChallengesService {
    const DOMAIN: Domain = Domain::Challenges;

    fn db(&self) -> &DomainDb {
        &self.db
    }
}

impl ChallengesService {
    pub async fn create(self, msg: CreateChallenge) -> Result<Challenge, DomainError> {
        let title = required_text("title", &msg.title, MAX_TITLE)?;
        let description = required_text("description", &msg.description, MAX_DESCRIPTION)?;
        check_reward(msg.reward, &msg.campaign_currency)?;
        check_quota(msg.quota)?;
        period(msg.starts_at, msg.ends_at)?;
        let now = Utc::now();
        let row = challenge::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            legacy_id: Set(None),
            campaign_id: Set(msg.campaign_id),
            title: Set(title),
            description: Set(description),
            action_type: Set(action_to(msg.action_type)),
            reward_minor: Set(msg.reward.minor),
            currency: Set(msg.reward.currency.code().to_owned()),
            sponsor_id: Set(msg.sponsor_id),
            quota: Set(msg.quota),
            approved_count: Set(0),
            status: Set(challenge::ChallengeStatus::Draft),
            hidden: Set(false),
            starts_at: Set(msg.starts_at),
            ends_at: Set(msg.ends_at),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let txn = self.begin().await?;
        let row = row.insert(&txn).await.map_err(|e| self.db.map_err(e))?;
        let challenge = to_challenge(row)?;
        let event = Event::new(
            Domain::Challenges,
            "challenge_created",
            json!({
                "challengeId": challenge.id,
                "campaignId": challenge.campaign_id,
                "sponsorId": challenge.sponsor_id,
                "reward": money_json(challenge.reward),
                "quota": challenge.quota,
                "title": challenge.title,
            }),
        );
        commit_with(&self.db, &self.outbox, txn, vec![event]).await?;
        Ok(challenge)
    }

    pub async fn update(self, msg: UpdateChallenge) -> Result<Challenge, DomainError> {
        let row = self.existing(&msg.id).await?;
        let starts_at = msg.starts_at.unwrap_or(row.starts_at);
        let ends_at = msg.ends_at.unwrap_or(row.ends_at);
        period(starts_at, ends_at)?;
        let currency = row.currency.clone();
        let mut change: challenge::ActiveModel = row.into();
        if let Some(title) = msg.title {
            change.title = Set(required_text("title", &title, MAX_TITLE)?);
        }
        if let Some(description) = msg.description {
            change.description = Set(required_text("description", &description, MAX_DESCRIPTION)?);
        }
        if let Some(reward) = msg.reward {
            check_reward(reward, &currency)?;
            change.reward_minor = Set(reward.minor);
        }
        if let Some(sponsor_id) = msg.sponsor_id {
            change.sponsor_id = Set(sponsor_id);
        }
        if let Some(quota) = msg.quota {
            check_quota(quota)?;
            change.quota = Set(quota);
        }
        change.starts_at = Set(starts_at);
        change.ends_at = Set(ends_at);
        change.updated_at = Set(Utc::now());
        to_challenge(
            change
                .update(&self.db.write)
                .await
                .map_err(|e| self.db.map_err(e))?,
        )
    }

    pub async fn set_status(self, msg: SetChallengeStatus) -> Result<Challenge, DomainError> {
        let row = self.existing(&msg.id).await?;
        let current = status_from(row.status);
        if current == msg.status {
            return to_challenge(row);
        }
        if !current.can_become(msg.status) {
            return Err(DomainError::invalid(
                "status",
                format!(
                    "a challenge cannot go from {} to {}",
                    current.name(),
                    msg.status.name()
                ),
            ));
        }
        let moved = challenge::Entity::update_many()
            .col_expr(
                challenge::Column::Status,
                Expr::value(status_to(msg.status)),
            )
            .col_expr(challenge::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(challenge::Column::Id.eq(msg.id.clone()))
            .filter(challenge::Column::Status.eq(row.status))
            .exec(&self.db.write)
            .await
            .map_err(|e| self.db.map_err(e))?;
        if moved.rows_affected != 1 {
            return Err(DomainError::Conflict(
                "the challenge's status changed meanwhile; try again".to_owned(),
            ));
        }
        to_challenge(self.existing(&msg.id).await?)
    }

    pub async fn get(self, msg: GetChallenges) -> Result<Vec<Challenge>, DomainError> {
        if msg.ids.is_empty() {
            return Ok(Vec::new());
        }
        challenge::Entity::find()
            .filter(challenge::Column::Id.is_in(msg.ids))
            .all(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?
            .into_iter()
            .map(to_challenge)
            .collect()
    }

    pub async fn list(self, msg: ListChallenges) -> Result<Page<Challenge>, DomainError> {
        let filter = challenge_filter(
            msg.campaign_id.as_deref().map(|id| vec![id.to_owned()]),
            msg.status,
            msg.include_hidden,
            msg.include_drafts,
        );
        let found = self
            .db
            .keyset_page::<challenge::Entity>(
                filter,
                challenge::Column::Id,
                msg.after,
                msg.first,
                Order::NewestFirst,
            )
            .await?;
        page(found, to_challenge)
    }

    pub async fn of_campaigns(
        self,
        msg: ChallengesOfCampaigns,
    ) -> Result<Vec<(String, Page<Challenge>)>, DomainError> {
        if msg.campaign_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = challenge::Entity::find()
            .filter(challenge_filter(
                Some(msg.campaign_ids.clone()),
                msg.status,
                msg.include_hidden,
                msg.include_drafts,
            ))
            .order_by_desc(challenge::Column::Id)
            .all(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?;
        let mut grouped: HashMap<String, Vec<challenge::Model>> = HashMap::new();
        for row in rows {
            grouped
                .entry(row.campaign_id.clone())
                .or_default()
                .push(row);
        }
        msg.campaign_ids
            .into_iter()
            .map(|id| {
                let rows = grouped.remove(&id).unwrap_or_default();
                let total = rows.len() as u64;
                Ok((
                    id,
                    page(KeysetPage::cut(rows, msg.first, total), to_challenge)?,
                ))
            })
            .collect()
    }

    pub async fn join(self, msg: JoinChallenge) -> Result<Participation, DomainError> {
        let challenge = self.existing(&msg.challenge_id).await?;
        if challenge.status != challenge::ChallengeStatus::Active || challenge.hidden {
            return Err(DomainError::invalid(
                "challengeId",
                format!(
                    "the challenge is {}, not ACTIVE: it cannot be joined",
                    status_from(challenge.status).name()
                ),
            ));
        }
        let now = Utc::now();
        let row = participation::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            legacy_id: Set(None),
            challenge_id: Set(challenge.id.clone()),
            campaign_id: Set(challenge.campaign_id.clone()),
            user_id: Set(msg.user_id),
            status: Set(participation::ParticipationStatus::Joined),
            proof_url: Set(None),
            submitted_at: Set(None),
            reviewed_at: Set(None),
            reviewed_by: Set(None),
            review_note: Set(None),
            hidden: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let txn = self.begin().await?;
        let row = match row.insert(&txn).await {
            Ok(row) => row,
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(DomainError::Conflict(
                    "you have already joined this challenge".to_owned(),
                ));
            }
            Err(err) => return Err(self.db.map_err(err)),
        };
        let joined = to_participation(row);
        let event = Event::new(
            Domain::Challenges,
            "participation_joined",
            json!({ "participationId": joined.id, "challengeId": joined.challenge_id, "campaignId": joined.campaign_id, "userId": joined.user_id }),
        );
        commit_with(&self.db, &self.outbox, txn, vec![event]).await?;
        Ok(joined)
    }

    pub async fn submit(self, msg: SubmitAction) -> Result<Participation, DomainError> {
        let proof_url = https_url("proofUrl", &msg.proof_url)?;
        let row = self.existing_participation(&msg.participation_id).await?;
        if row.user_id != msg.user_id {
            return Err(DomainError::Forbidden(
                "you can only submit for your own participation".to_owned(),
            ));
        }
        let challenge = self.existing(&row.challenge_id).await?;
        if challenge.status != challenge::ChallengeStatus::Active {
            return Err(DomainError::invalid(
                "participationId",
                "the challenge is no longer ACTIVE",
            ));
        }
        let now = Utc::now();
        let txn = self.begin().await?;
        let moved = participation::Entity::update_many()
            .col_expr(
                participation::Column::Status,
                Expr::value(participation::ParticipationStatus::Submitted),
            )
            .col_expr(participation::Column::ProofUrl, Expr::value(proof_url))
            .col_expr(participation::Column::SubmittedAt, Expr::value(now))
            .col_expr(participation::Column::UpdatedAt, Expr::value(now))
            .filter(participation::Column::Id.eq(row.id.clone()))
            .filter(participation::Column::Status.is_in([
                participation::ParticipationStatus::Joined,
                participation::ParticipationStatus::Rejected,
            ]))
            .exec(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        if moved.rows_affected != 1 {
            return Err(DomainError::invalid(
                "participationId",
                format!(
                    "an action can be submitted when JOINED or REJECTED, not {}",
                    participation_status_from(row.status).name()
                ),
            ));
        }
        let submitted = to_participation(
            participation::Entity::find_by_id(row.id.clone())
                .one(&txn)
                .await
                .map_err(|e| self.db.map_err(e))?
                .ok_or_else(|| DomainError::not_found("participation"))?,
        );
        let event = Event::new(
            Domain::Challenges,
            "action_submitted",
            json!({ "participationId": submitted.id, "challengeId": submitted.challenge_id, "campaignId": submitted.campaign_id, "userId": submitted.user_id }),
        );
        commit_with(&self.db, &self.outbox, txn, vec![event]).await?;
        Ok(submitted)
    }

    pub async fn review(self, msg: ReviewAction) -> Result<Participation, DomainError> {
        let note = optional_text("note", msg.note, MAX_NOTE)?;
        let txn = self
            .db
            .write
            .begin()
            .await
            .map_err(|e| self.db.map_err(e))?;
        let now = Utc::now();
        let decided = if msg.approve {
            participation::ParticipationStatus::Approved
        } else {
            participation::ParticipationStatus::Rejected
        };
        // Only a SUBMITTED action moves; a concurrent review of the same one finds nothing.
        let moved = participation::Entity::update_many()
            .col_expr(participation::Column::Status, Expr::value(decided))
            .col_expr(participation::Column::ReviewedAt, Expr::value(now))
            .col_expr(
                participation::Column::ReviewedBy,
                Expr::value(msg.reviewer_id.clone()),
            )
            .col_expr(participation::Column::ReviewNote, Expr::value(note))
            .col_expr(participation::Column::UpdatedAt, Expr::value(now))
            .filter(participation::Column::Id.eq(msg.participation_id.clone()))
            .filter(participation::Column::Status.eq(participation::ParticipationStatus::Submitted))
            .exec(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        let row = participation::Entity::find_by_id(msg.participation_id.clone())
            .one(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?
            .ok_or_else(|| DomainError::not_found("participation"))?;
        if moved.rows_affected != 1 {
            return Err(DomainError::invalid(
                "participationId",
                format!(
                    "only SUBMITTED actions can be reviewed; this one is {}",
                    participation_status_from(row.status).name()
                ),
            ));
        }
        let reviewed = to_participation(row);
        let event = if msg.approve {
            // The increment locks the challenge row until commit: concurrent approvals
            // of one challenge are numbered one after another, so the quota is exact.
            challenge::Entity::update_many()
                .col_expr(
                    challenge::Column::ApprovedCount,
                    Expr::col(challenge::Column::ApprovedCount).add(1),
                )
                .filter(challenge::Column::Id.eq(reviewed.challenge_id.clone()))
                .exec(&txn)
                .await
                .map_err(|e| self.db.map_err(e))?;
            let challenge = to_challenge(
                challenge::Entity::find_by_id(reviewed.challenge_id.clone())
                    .one(&txn)
                    .await
                    .map_err(|e| self.db.map_err(e))?
                    .ok_or_else(|| DomainError::not_found("challenge"))?,
            )?;
            self.count_on_leaderboard(&txn, &reviewed).await?;
            let within_quota = challenge
                .quota
                .is_none_or(|q| challenge.approved_count <= q);
            Event::new(
                Domain::Challenges,
                "action_approved",
                json!({
                    "participationId": reviewed.id,
                    "challengeId": challenge.id,
                    "campaignId": challenge.campaign_id,
                    "userId": reviewed.user_id,
                    "sponsorId": challenge.sponsor_id,
                    "reward": money_json(challenge.reward),
                    "approvalNumber": challenge.approved_count,
                    "quota": challenge.quota,
                    "withinQuota": within_quota,
                    "reviewedBy": msg.reviewer_id,
                }),
            )
        } else {
            Event::new(
                Domain::Challenges,
                "action_rejected",
                json!({ "participationId": reviewed.id, "challengeId": reviewed.challenge_id, "campaignId": reviewed.campaign_id, "userId": reviewed.user_id, "reviewedBy": msg.reviewer_id }),
            )
        };
        commit_with(&self.db, &self.outbox, txn, vec![event]).await?;
        Ok(reviewed)
    }

    async fn count_on_leaderboard(
        &self,
        txn: &DatabaseTransaction,
        approved: &Participation,
    ) -> Result<(), DomainError> {
        leaderboard_entry::Entity::insert(leaderboard_entry::ActiveModel {
            campaign_id: Set(approved.campaign_id.clone()),
            user_id: Set(approved.user_id.clone()),
            approved_actions: Set(1),
            reached_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([
                leaderboard_entry::Column::CampaignId,
                leaderboard_entry::Column::UserId,
            ])
            .value(
                leaderboard_entry::Column::ApprovedActions,
                Expr::col((
                    leaderboard_entry::Entity,
                    leaderboard_entry::Column::ApprovedActions,
                ))
                .add(1),
            )
            .update_column(leaderboard_entry::Column::ReachedAt)
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await
        .map_err(|e| self.db.map_err(e))?;
        Ok(())
    }

    pub async fn get_participations(
        self,
        msg: GetParticipations,
    ) -> Result<Vec<Participation>, DomainError> {
        if msg.ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(participation::Entity::find()
            .filter(participation::Column::Id.is_in(msg.ids))
            .all(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?
            .into_iter()
            .map(to_participation)
            .collect())
    }

    pub async fn list_participations(
        self,
        msg: ListParticipations,
    ) -> Result<Page<Participation>, DomainError> {
        let mut filter = Condition::all();
        if let Some(challenge_id) = msg.challenge_id {
            filter = filter.add(participation::Column::ChallengeId.eq(challenge_id));
        }
        if let Some(user_id) = msg.user_id {
            filter = filter.add(participation::Column::UserId.eq(user_id));
        }
        if let Some(status) = msg.status {
            filter = filter.add(participation::Column::Status.eq(participation_status_to(status)));
        }
        if !msg.include_hidden {
            filter = filter.add(participation::Column::Hidden.eq(false));
        }
        let found = self
            .db
            .keyset_page::<participation::Entity>(
                filter,
                participation::Column::Id,
                msg.after,
                msg.first,
                Order::NewestFirst,
            )
            .await?;
        page(found, |row| Ok(to_participation(row)))
    }

    pub async fn of_user(
        self,
        msg: ParticipationsOfUser,
    ) -> Result<Vec<Participation>, DomainError> {
        if msg.challenge_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(participation::Entity::find()
            .filter(participation::Column::UserId.eq(msg.user_id))
            .filter(participation::Column::ChallengeId.is_in(msg.challenge_ids))
            .all(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?
            .into_iter()
            .map(to_participation)
            .collect())
    }

    pub async fn leaderboards(
        self,
        msg: Leaderboards,
    ) -> Result<Vec<(String, Vec<LeaderboardEntry>)>, DomainError> {
        let mut boards = Vec::with_capacity(msg.campaign_ids.len());
        for campaign_id in msg.campaign_ids {
            let rows = leaderboard_entry::Entity::find()
                .filter(leaderboard_entry::Column::CampaignId.eq(campaign_id.clone()))
                .order_by_desc(leaderboard_entry::Column::ApprovedActions)
                .order_by_asc(leaderboard_entry::Column::ReachedAt)
                .order_by_asc(leaderboard_entry::Column::UserId)
                .limit(msg.first)
                .all(&self.db.read)
                .await
                .map_err(|e| self.db.map_err(e))?;
            let entries = rows
                .into_iter()
                .enumerate()
                .map(|(i, row)| LeaderboardEntry {
                    rank: i as i32 + 1,
                    user_id: row.user_id,
                    approved_actions: row.approved_actions,
                })
                .collect();
            boards.push((campaign_id, entries));
        }
        Ok(boards)
    }

    /// Several events, each in its own transaction.
    pub async fn apply_all(self, ApplyEvents(events): ApplyEvents) -> Result<(), DomainError> {
        one_by_one(events, |event| self.clone().apply(event)).await
    }

    /// Moderation hides and restores challenges and submissions.
    pub async fn apply(self, ApplyEvent(event): ApplyEvent) -> Result<(), DomainError> {
        let txn = self
            .db
            .write
            .begin()
            .await
            .map_err(|e| self.db.map_err(e))?;
        if !claim(&txn, &event).await.map_err(|e| self.db.map_err(e))? {
            return Ok(());
        }
        let hidden = event.kind == "reports.content_hidden";
        let target = event_text(&event.data, "targetId")?.to_owned();
        match event_text(&event.data, "targetType")? {
            "CHALLENGE" => {
                challenge::Entity::update_many()
                    .col_expr(challenge::Column::Hidden, Expr::value(hidden))
                    .filter(challenge::Column::Id.eq(target))
                    .exec(&txn)
                    .await
                    .map_err(|e| self.db.map_err(e))?;
            }
            "SUBMISSION" => {
                participation::Entity::update_many()
                    .col_expr(participation::Column::Hidden, Expr::value(hidden))
                    .filter(participation::Column::Id.eq(target))
                    .exec(&txn)
                    .await
                    .map_err(|e| self.db.map_err(e))?;
            }
            _ => {}
        }
        txn.commit().await.map_err(|e| self.db.map_err(e))
    }

    async fn begin(&self) -> Result<DatabaseTransaction, DomainError> {
        self.db.write.begin().await.map_err(|e| self.db.map_err(e))
    }

    async fn existing(&self, id: &str) -> Result<challenge::Model, DomainError> {
        challenge::Entity::find_by_id(id.to_owned())
            .one(&self.db.write)
            .await
            .map_err(|e| self.db.map_err(e))?
            .ok_or_else(|| DomainError::not_found("challenge"))
    }

    async fn existing_participation(&self, id: &str) -> Result<participation::Model, DomainError> {
        participation::Entity::find_by_id(id.to_owned())
            .one(&self.db.write)
            .await
            .map_err(|e| self.db.map_err(e))?
            .ok_or_else(|| DomainError::not_found("participation"))
    }
}

fn challenge_filter(
    campaign_ids: Option<Vec<String>>,
    status: Option<ChallengeStatus>,
    include_hidden: bool,
    include_drafts: bool,
) -> Condition {
    let mut filter = Condition::all();
    if let Some(ids) = campaign_ids {
        filter = filter.add(challenge::Column::CampaignId.is_in(ids));
    }
    if let Some(status) = status {
        filter = filter.add(challenge::Column::Status.eq(status_to(status)));
    }
    if !include_hidden {
        filter = filter.add(challenge::Column::Hidden.eq(false));
    }
    if !include_drafts {
        filter = filter.add(challenge::Column::Status.ne(challenge::ChallengeStatus::Draft));
    }
    filter
}

fn page<R, T>(
    found: KeysetPage<R>,
    convert: impl Fn(R) -> Result<T, DomainError>,
) -> Result<Page<T>, DomainError> {
    Ok(Page {
        items: found
            .rows
            .into_iter()
            .map(convert)
            .collect::<Result<_, _>>()?,
        has_next_page: found.has_next_page,
        total_count: found.total_count,
    })
}

fn check_reward(reward: Money, campaign_currency: &str) -> Result<(), DomainError> {
    if reward.minor <= 0 {
        return Err(DomainError::invalid(
            "rewardPerAction.amount",
            "must be positive",
        ));
    }
    let cap = MAX_REWARD_MAJOR.saturating_mul(10i64.pow(reward.currency.exponent()));
    if reward.minor > cap {
        return Err(DomainError::invalid(
            "rewardPerAction.amount",
            format!("must be at most {MAX_REWARD_MAJOR} {}", reward.currency),
        ));
    }
    if reward.currency.code() != campaign_currency {
        return Err(DomainError::invalid(
            "rewardPerAction.currency",
            format!("must be the campaign's currency, {campaign_currency}"),
        ));
    }
    Ok(())
}

fn check_quota(quota: Option<i32>) -> Result<(), DomainError> {
    match quota {
        Some(q) if !(1..=MAX_QUOTA).contains(&q) => Err(DomainError::invalid(
            "quota",
            format!("must be between 1 and {MAX_QUOTA}, or null for unlimited"),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn money_json(money: Money) -> serde_json::Value {
    json!({ "amount": money.amount(), "currency": money.currency })
}

impl ParticipationStatus {
    pub fn name(self) -> &'static str {
        match self {
            ParticipationStatus::Joined => "JOINED",
            ParticipationStatus::Submitted => "SUBMITTED",
            ParticipationStatus::Approved => "APPROVED",
            ParticipationStatus::Rejected => "REJECTED",
        }
    }
}

fn to_challenge(row: challenge::Model) -> Result<Challenge, DomainError> {
    let currency = Currency::parse("currency", &row.currency).map_err(|_| {
        DomainError::Internal(format!(
            "challenge {} has an unknown currency `{}`",
            row.id, row.currency
        ))
    })?;
    Ok(Challenge {
        id: row.id,
        legacy_id: row.legacy_id,
        campaign_id: row.campaign_id,
        title: row.title,
        description: row.description,
        action_type: action_from(row.action_type),
        reward: Money::new(row.reward_minor, currency),
        sponsor_id: row.sponsor_id,
        quota: row.quota,
        approved_count: row.approved_count,
        status: status_from(row.status),
        hidden: row.hidden,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        created_at: row.created_at,
    })
}

fn to_participation(row: participation::Model) -> Participation {
    Participation {
        id: row.id,
        legacy_id: row.legacy_id,
        challenge_id: row.challenge_id,
        campaign_id: row.campaign_id,
        user_id: row.user_id,
        status: participation_status_from(row.status),
        proof_url: row.proof_url,
        submitted_at: row.submitted_at,
        reviewed_at: row.reviewed_at,
        review_note: row.review_note,
        hidden: row.hidden,
        created_at: row.created_at,
    }
}

fn status_from(status: challenge::ChallengeStatus) -> ChallengeStatus {
    match status {
        challenge::ChallengeStatus::Draft => ChallengeStatus::Draft,
        challenge::ChallengeStatus::Active => ChallengeStatus::Active,
        challenge::ChallengeStatus::Closed => ChallengeStatus::Closed,
    }
}

fn status_to(status: ChallengeStatus) -> challenge::ChallengeStatus {
    match status {
        ChallengeStatus::Draft => challenge::ChallengeStatus::Draft,
        ChallengeStatus::Active => challenge::ChallengeStatus::Active,
        ChallengeStatus::Closed => challenge::ChallengeStatus::Closed,
    }
}

fn participation_status_from(status: participation::ParticipationStatus) -> ParticipationStatus {
    match status {
        participation::ParticipationStatus::Joined => ParticipationStatus::Joined,
        participation::ParticipationStatus::Submitted => ParticipationStatus::Submitted,
        participation::ParticipationStatus::Approved => ParticipationStatus::Approved,
        participation::ParticipationStatus::Rejected => ParticipationStatus::Rejected,
    }
}

fn participation_status_to(status: ParticipationStatus) -> participation::ParticipationStatus {
    match status {
        ParticipationStatus::Joined => participation::ParticipationStatus::Joined,
        ParticipationStatus::Submitted => participation::ParticipationStatus::Submitted,
        ParticipationStatus::Approved => participation::ParticipationStatus::Approved,
        ParticipationStatus::Rejected => participation::ParticipationStatus::Rejected,
    }
}

fn action_from(action: challenge::ActionType) -> ActionType {
    match action {
        challenge::ActionType::Photo => ActionType::Photo,
        challenge::ActionType::Video => ActionType::Video,
        challenge::ActionType::Quiz => ActionType::Quiz,
        challenge::ActionType::Share => ActionType::Share,
        challenge::ActionType::CheckIn => ActionType::CheckIn,
    }
}

fn action_to(action: ActionType) -> challenge::ActionType {
    match action {
        ActionType::Photo => challenge::ActionType::Photo,
        ActionType::Video => challenge::ActionType::Video,
        ActionType::Quiz => challenge::ActionType::Quiz,
        ActionType::Share => challenge::ActionType::Share,
        ActionType::CheckIn => challenge::ActionType::CheckIn,
    }
}
