//! The reports domain's logic: filing, auto-hiding, resolving, appeals, and the admin
//! projections it keeps from the other domains' events.

use std::collections::HashMap;

use chrono::Utc;
use gerak_entities::reports::{
    campaign_state, challenge_total, moderation_target, participation_state, raised_total, report,
    user_state,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, SqlErr, TransactionTrait,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use serde_json::json;

use super::messages::*;
use crate::{
    DomainError,
    bus::Event,
    db::{DomainDb, Order},
    money::{Currency, Money},
    runtime::{
        ApplyEvent, ApplyEvents, Domain, DomainService, Outbox, claim_all, commit_with,
        event_money, event_text,
    },
    validate::{optional_text, required_text},
};

const MAX_NOTE: usize = 1000;

#[derive(Clone)]
pub struct ReportsService {
    pub(crate) db: DomainDb,
    pub(crate) outbox: Outbox,
    /// Distinct reporters with OPEN reports that hide content by themselves.
    pub(crate) auto_hide_threshold: u64,
}

impl DomainService for ReportsService {
    const DOMAIN: Domain = Domain::Reports;

    fn db(&self) -> &DomainDb {
        &self.db
    }
}

impl ReportsService {
    pub async fn file(self, msg: FileReport) -> Result<Report, DomainError> {
        let note = optional_text("input.note", msg.note, MAX_NOTE)?;
        if msg.target_type == TargetType::User && msg.target_id == msg.reporter_id {
            return Err(DomainError::invalid(
                "input.targetId",
                "you cannot report yourself",
            ));
        }
        let txn = self.begin().await?;
        let row = self
            .insert_report(
                &txn,
                &msg.reporter_id,
                msg.target_type,
                &msg.target_id,
                msg.target_owner_id.clone(),
                msg.reason,
                note,
                false,
            )
            .await?;
        let reporters = report::Entity::find()
            .select_only()
            .column(report::Column::ReporterId)
            .distinct()
            .filter(on_target(msg.target_type, &msg.target_id))
            .filter(report::Column::Status.eq(report::ReportStatus::Open))
            .filter(report::Column::IsAppeal.eq(false))
            .count(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        // Users are never hidden by reports alone: they wait in the queue for an admin.
        let hide = msg.target_type != TargetType::User
            && reporters >= self.auto_hide_threshold
            && self
                .set_hidden(
                    &txn,
                    msg.target_type,
                    &msg.target_id,
                    msg.target_owner_id.as_deref(),
                    true,
                )
                .await?;
        let report = to_report(row)?;
        let mut events = vec![filed(&report)];
        if hide {
            tracing::info!(target_type = msg.target_type.name(), target_id = %msg.target_id, reporters, "content hidden after reports");
            events.push(visibility(
                msg.target_type,
                &msg.target_id,
                report.target_owner_id.as_deref(),
                true,
                None,
            ));
        }
        self.commit_with(txn, events).await?;
        Ok(report)
    }

    pub async fn resolve(self, msg: ResolveReport) -> Result<Report, DomainError> {
        let note = optional_text("note", msg.note, MAX_NOTE)?;
        let txn = self.begin().await?;
        let row = report::Entity::find_by_id(msg.id.clone())
            .one(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?
            .ok_or_else(|| DomainError::not_found("report"))?;
        if row.status != report::ReportStatus::Open {
            return Err(DomainError::invalid(
                "id",
                "the report has already been handled",
            ));
        }
        let target_type = target_from(row.target_type);
        let suspend = match msg.action {
            ModerationAction::HideContent | ModerationAction::RestoreContent
                if target_type == TargetType::User =>
            {
                return Err(DomainError::invalid(
                    "action",
                    "a user cannot be hidden or restored; use SUSPEND_USER",
                ));
            }
            ModerationAction::SuspendUser => Some(match target_type {
                TargetType::User => row.target_id.clone(),
                _ => row.target_owner_id.clone().ok_or_else(|| {
                    DomainError::invalid("action", "the content's owner is not known")
                })?,
            }),
            _ => None,
        };
        let visibility_change = match msg.action {
            ModerationAction::HideContent => Some(true),
            ModerationAction::RestoreContent => Some(false),
            _ => None,
        };
        let changed = match visibility_change {
            Some(hidden) => {
                self.set_hidden(
                    &txn,
                    target_type,
                    &row.target_id,
                    row.target_owner_id.as_deref(),
                    hidden,
                )
                .await?
            }
            None => false,
        };
        let closed_as = if msg.action == ModerationAction::Dismiss {
            report::ReportStatus::Dismissed
        } else {
            report::ReportStatus::Resolved
        };
        let now = Utc::now();
        report::Entity::update_many()
            .col_expr(report::Column::Status, Expr::value(closed_as))
            .col_expr(
                report::Column::Resolution,
                Expr::value(action_name(msg.action)),
            )
            .col_expr(report::Column::HandledBy, Expr::value(msg.admin_id.clone()))
            .col_expr(report::Column::HandledAt, Expr::value(now))
            .col_expr(report::Column::ResolutionNote, Expr::value(note))
            .filter(on_target(target_type, &row.target_id))
            .filter(report::Column::Status.eq(report::ReportStatus::Open))
            .exec(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        let resolved = report::Entity::find_by_id(msg.id.clone())
            .one(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?
            .ok_or_else(|| DomainError::not_found("report"))?;
        let report = to_report(resolved)?;
        let mut events = Vec::new();
        if let (true, Some(hidden)) = (changed, visibility_change) {
            events.push(visibility(
                target_type,
                &report.target_id,
                report.target_owner_id.as_deref(),
                hidden,
                Some(&msg.admin_id),
            ));
        }
        if let Some(user_id) = suspend {
            events.push(Event::new(
                Domain::Reports,
                "user_suspended",
                json!({ "userId": user_id, "reportId": report.id, "by": msg.admin_id }),
            ));
        }
        events.push(Event::new(
            Domain::Reports,
            "report_resolved",
            json!({ "reportId": report.id, "targetType": target_type, "targetId": report.target_id, "action": msg.action, "by": msg.admin_id }),
        ));
        self.commit_with(txn, events).await?;
        Ok(report)
    }

    pub async fn appeal(self, msg: Appeal) -> Result<Report, DomainError> {
        let note = required_text("note", &msg.note, MAX_NOTE)?;
        let txn = self.begin().await?;
        let target = moderation_target::Entity::find_by_id((
            msg.target_type.name().to_owned(),
            msg.target_id.clone(),
        ))
        .one(&txn)
        .await
        .map_err(|e| self.db.map_err(e))?
        .filter(|t| t.hidden)
        .ok_or_else(|| DomainError::invalid("targetId", "this content is not hidden"))?;
        if target.owner_id.as_deref() != Some(msg.owner_id.as_str()) {
            return Err(DomainError::Forbidden(
                "only the owner of hidden content may appeal".to_owned(),
            ));
        }
        let row = self
            .insert_report(
                &txn,
                &msg.owner_id,
                msg.target_type,
                &msg.target_id,
                Some(msg.owner_id.clone()),
                Reason::Other,
                Some(note),
                true,
            )
            .await?;
        let report = to_report(row)?;
        self.commit_with(txn, vec![filed(&report)]).await?;
        Ok(report)
    }

    pub async fn get(self, msg: GetReports) -> Result<Vec<Report>, DomainError> {
        if msg.ids.is_empty() {
            return Ok(Vec::new());
        }
        report::Entity::find()
            .filter(report::Column::Id.is_in(msg.ids))
            .all(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?
            .into_iter()
            .map(to_report)
            .collect()
    }

    pub async fn list(self, msg: ListReports) -> Result<ReportPage, DomainError> {
        let mut filter = Condition::all();
        if let Some(status) = msg.status {
            filter = filter.add(report::Column::Status.eq(status_to(status)));
        }
        if let Some(target_type) = msg.target_type {
            filter = filter.add(report::Column::TargetType.eq(target_to(target_type)));
        }
        let page = self
            .db
            .keyset_page::<report::Entity>(
                filter,
                report::Column::Id,
                msg.after,
                msg.first,
                Order::OldestFirst,
            )
            .await?;
        let (rows, has_next_page, total_count) = (page.rows, page.has_next_page, page.total_count);
        Ok(ReportPage {
            reports: rows.into_iter().map(to_report).collect::<Result<_, _>>()?,
            has_next_page,
            total_count,
        })
    }

    pub async fn challenge_stats(
        self,
        msg: GetChallengeStats,
    ) -> Result<ChallengeStats, DomainError> {
        let db = &self.db.read;
        let map = |e| self.db.map_err(e);
        // One statement, so the counts are of one moment (an approval moves a
        // participation from SUBMITTED to APPROVED between two separate counts).
        let by_status: Vec<(String, i64)> = participation_state::Entity::find()
            .select_only()
            .column(participation_state::Column::Status)
            .column_as(participation_state::Column::ParticipationId.count(), "n")
            .filter(participation_state::Column::ChallengeId.eq(msg.challenge_id.clone()))
            .group_by(participation_state::Column::Status)
            .into_tuple()
            .all(db)
            .await
            .map_err(map)?;
        let count = |status: &str| {
            by_status
                .iter()
                .filter(|(s, _)| s == status)
                .map(|(_, n)| *n)
                .sum::<i64>()
        };
        let participants = by_status.iter().map(|(_, n)| *n).sum::<i64>();
        let submitted = count("SUBMITTED");
        let approved = count("APPROVED");
        let rejected = count("REJECTED");
        let donated = challenge_total::Entity::find_by_id(msg.challenge_id.clone())
            .one(db)
            .await
            .map_err(map)?
            .map(|t| Money::from_stored(t.donated_minor, &t.currency))
            .transpose()?;
        let open_reports = report::Entity::find()
            .filter(on_target(TargetType::Challenge, &msg.challenge_id))
            .filter(report::Column::Status.eq(report::ReportStatus::Open))
            .count(db)
            .await
            .map_err(map)? as i64;
        Ok(ChallengeStats {
            challenge_id: msg.challenge_id,
            participants,
            submitted,
            approved,
            rejected,
            donated,
            open_reports,
        })
    }

    pub async fn dashboard(self, _msg: GetDashboard) -> Result<Dashboard, DomainError> {
        let db = &self.db.read;
        let map = |e| self.db.map_err(e);
        let users = user_state::Entity::find().count(db).await.map_err(map)? as i64;
        let sponsors = user_state::Entity::find()
            .filter(user_state::Column::Role.eq("SPONSOR"))
            .count(db)
            .await
            .map_err(map)? as i64;
        let active_campaigns = campaign_state::Entity::find()
            .filter(campaign_state::Column::Status.eq("ACTIVE"))
            .count(db)
            .await
            .map_err(map)? as i64;
        let raised = raised_total::Entity::find()
            .order_by_asc(raised_total::Column::Currency)
            .all(db)
            .await
            .map_err(map)?
            .into_iter()
            .map(|t| Money::from_stored(t.raised_minor, &t.currency))
            .collect::<Result<_, _>>()?;
        let pending_reviews = participation_state::Entity::find()
            .filter(participation_state::Column::Status.eq("SUBMITTED"))
            .count(db)
            .await
            .map_err(map)? as i64;
        let open_reports = report::Entity::find()
            .filter(report::Column::Status.eq(report::ReportStatus::Open))
            .count(db)
            .await
            .map_err(map)? as i64;
        Ok(Dashboard {
            users,
            sponsors,
            active_campaigns,
            raised,
            pending_reviews,
            open_reports,
        })
    }

    /// Keeps the admin projections from the other domains' events.
    pub async fn apply(self, ApplyEvent(event): ApplyEvent) -> Result<(), DomainError> {
        self.apply_all(ApplyEvents(vec![event])).await
    }

    /// Keeps the dashboard's projections; all the events in one transaction. The money
    /// they move is summed first: one upsert per currency and per challenge, however many
    /// donations the batch carries.
    pub async fn apply_all(self, ApplyEvents(events): ApplyEvents) -> Result<(), DomainError> {
        let txn = self.begin().await?;
        let mut fresh = claim_all(&txn, &events)
            .await
            .map_err(|e| self.db.map_err(e))?;
        let mut moved = MoneyMoved::default();
        for event in &events {
            if fresh.remove(&event.id) {
                self.apply_in(&txn, event, &mut moved).await?;
            }
        }
        // In key order: concurrent batches (PostgreSQL) lock the totals in one order.
        let mut raised: Vec<_> = moved.raised.into_iter().collect();
        raised.sort_by_key(|(currency, _)| currency.code());
        for (currency, minor) in raised {
            self.add_raised(&txn, Money::new(minor, currency)).await?;
        }
        let mut by_challenge: Vec<_> = moved.by_challenge.into_iter().collect();
        by_challenge.sort_by(|((a, x), _), ((b, y), _)| (a, x.code()).cmp(&(b, y.code())));
        for ((challenge_id, currency), minor) in by_challenge {
            self.add_to_challenge(&txn, &challenge_id, Money::new(minor, currency))
                .await?;
        }
        self.commit(txn).await
    }

    /// Applies one event in `txn`; the money it moves is added to `moved`.
    async fn apply_in(
        &self,
        txn: &DatabaseTransaction,
        event: &Event,
        moved: &mut MoneyMoved,
    ) -> Result<(), DomainError> {
        let data = &event.data;
        match event.kind.as_str() {
            "users.user_registered" | "users.user_role_changed" => {
                let row = user_state::ActiveModel {
                    user_id: Set(event_text(data, "userId")?.to_owned()),
                    role: Set(event_text(data, "role")?.to_owned()),
                    suspended: Set(false),
                };
                self.upsert(
                    txn,
                    user_state::Entity::insert(row).on_conflict(
                        OnConflict::column(user_state::Column::UserId)
                            .update_column(user_state::Column::Role)
                            .to_owned(),
                    ),
                )
                .await?;
            }
            "users.user_suspended" | "users.user_reinstated" => {
                user_state::Entity::update_many()
                    .col_expr(
                        user_state::Column::Suspended,
                        Expr::value(event.kind == "users.user_suspended"),
                    )
                    .filter(user_state::Column::UserId.eq(event_text(data, "userId")?))
                    .exec(txn)
                    .await
                    .map_err(|e| self.db.map_err(e))?;
            }
            "campaigns.campaign_created" | "campaigns.campaign_status_changed" => {
                let row = campaign_state::ActiveModel {
                    campaign_id: Set(event_text(data, "campaignId")?.to_owned()),
                    status: Set(event_text(data, "status")?.to_owned()),
                };
                self.upsert(
                    txn,
                    campaign_state::Entity::insert(row).on_conflict(
                        OnConflict::column(campaign_state::Column::CampaignId)
                            .update_column(campaign_state::Column::Status)
                            .to_owned(),
                    ),
                )
                .await?;
            }
            "challenges.participation_joined"
            | "challenges.action_submitted"
            | "challenges.action_approved"
            | "challenges.action_rejected" => {
                let status = match event.kind.as_str() {
                    "challenges.participation_joined" => "JOINED",
                    "challenges.action_submitted" => "SUBMITTED",
                    "challenges.action_approved" => "APPROVED",
                    _ => "REJECTED",
                };
                let row = participation_state::ActiveModel {
                    participation_id: Set(event_text(data, "participationId")?.to_owned()),
                    challenge_id: Set(event_text(data, "challengeId")?.to_owned()),
                    status: Set(status.to_owned()),
                };
                self.upsert(
                    txn,
                    participation_state::Entity::insert(row).on_conflict(
                        OnConflict::column(participation_state::Column::ParticipationId)
                            .update_column(participation_state::Column::Status)
                            .to_owned(),
                    ),
                )
                .await?;
            }
            "donations.donation_paid" | "donations.donation_refunded" => {
                let amount = if event.kind == "donations.donation_paid" {
                    event_money(data, "amount")?
                } else {
                    let refunded = event_money(data, "refundedNow")?;
                    Money::new(-refunded.minor, refunded.currency)
                };
                let challenge_id = data.get("challengeId").and_then(|v| v.as_str());
                moved.add(challenge_id, amount)?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn upsert<A: ActiveModelTrait>(
        &self,
        txn: &DatabaseTransaction,
        insert: sea_orm::Insert<A>,
    ) -> Result<(), DomainError> {
        insert
            .exec_without_returning(txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        Ok(())
    }

    async fn add_raised(
        &self,
        txn: &DatabaseTransaction,
        amount: Money,
    ) -> Result<(), DomainError> {
        let row = raised_total::ActiveModel {
            currency: Set(amount.currency.code().to_owned()),
            raised_minor: Set(amount.minor),
        };
        raised_total::Entity::insert(row)
            .on_conflict(
                OnConflict::column(raised_total::Column::Currency)
                    .value(
                        raised_total::Column::RaisedMinor,
                        Expr::col((raised_total::Entity, raised_total::Column::RaisedMinor))
                            .add(amount.minor),
                    )
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        Ok(())
    }

    async fn add_to_challenge(
        &self,
        txn: &DatabaseTransaction,
        challenge_id: &str,
        amount: Money,
    ) -> Result<(), DomainError> {
        let row = challenge_total::ActiveModel {
            challenge_id: Set(challenge_id.to_owned()),
            currency: Set(amount.currency.code().to_owned()),
            donated_minor: Set(amount.minor),
        };
        challenge_total::Entity::insert(row)
            .on_conflict(
                OnConflict::column(challenge_total::Column::ChallengeId)
                    .value(
                        challenge_total::Column::DonatedMinor,
                        Expr::col((
                            challenge_total::Entity,
                            challenge_total::Column::DonatedMinor,
                        ))
                        .add(amount.minor),
                    )
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_report(
        &self,
        txn: &DatabaseTransaction,
        reporter_id: &str,
        target_type: TargetType,
        target_id: &str,
        target_owner_id: Option<String>,
        reason: Reason,
        note: Option<String>,
        is_appeal: bool,
    ) -> Result<report::Model, DomainError> {
        let row = report::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            legacy_id: Set(None),
            reporter_id: Set(reporter_id.to_owned()),
            target_type: Set(target_to(target_type)),
            target_id: Set(target_id.to_owned()),
            target_owner_id: Set(target_owner_id),
            reason: Set(reason_name(reason).to_owned()),
            note: Set(note),
            status: Set(report::ReportStatus::Open),
            resolution: Set(None),
            handled_by: Set(None),
            handled_at: Set(None),
            resolution_note: Set(None),
            is_appeal: Set(is_appeal),
            created_at: Set(Utc::now()),
        };
        match row.insert(txn).await {
            Ok(row) => Ok(row),
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(DomainError::Conflict(
                    if is_appeal {
                        "you already have an open appeal or report on this content"
                    } else {
                        "you already have an open report on this"
                    }
                    .to_owned(),
                ))
            }
            Err(err) => Err(self.db.map_err(err)),
        }
    }

    /// Records the target's visibility; true if it changed.
    async fn set_hidden(
        &self,
        txn: &DatabaseTransaction,
        target_type: TargetType,
        target_id: &str,
        owner_id: Option<&str>,
        hidden: bool,
    ) -> Result<bool, DomainError> {
        let key = (target_type.name().to_owned(), target_id.to_owned());
        let existing = moderation_target::Entity::find_by_id(key.clone())
            .one(txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        let was_hidden = existing.as_ref().is_some_and(|t| t.hidden);
        if was_hidden == hidden {
            return Ok(false);
        }
        let row = moderation_target::ActiveModel {
            target_type: Set(key.0),
            target_id: Set(key.1),
            owner_id: Set(owner_id
                .map(str::to_owned)
                .or(existing.and_then(|t| t.owner_id))),
            hidden: Set(hidden),
            changed_at: Set(Utc::now()),
        };
        moderation_target::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    moderation_target::Column::TargetType,
                    moderation_target::Column::TargetId,
                ])
                .update_columns([
                    moderation_target::Column::Hidden,
                    moderation_target::Column::ChangedAt,
                    moderation_target::Column::OwnerId,
                ])
                .to_owned(),
            )
            .exec_without_returning(txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        Ok(true)
    }

    async fn commit_with(
        &self,
        txn: DatabaseTransaction,
        events: Vec<Event>,
    ) -> Result<(), DomainError> {
        commit_with(&self.db, &self.outbox, txn, events).await
    }

    async fn begin(&self) -> Result<DatabaseTransaction, DomainError> {
        self.db.write.begin().await.map_err(|e| self.db.map_err(e))
    }

    async fn commit(&self, txn: DatabaseTransaction) -> Result<(), DomainError> {
        txn.commit().await.map_err(|e| self.db.map_err(e))
    }
}

fn filed(report: &Report) -> Event {
    Event::new(
        Domain::Reports,
        "report_filed",
        json!({ "reportId": report.id, "targetType": report.target_type, "targetId": report.target_id, "reason": report.reason, "reporterId": report.reporter_id, "isAppeal": report.is_appeal }),
    )
}

fn visibility(
    target_type: TargetType,
    target_id: &str,
    owner_id: Option<&str>,
    hidden: bool,
    by: Option<&str>,
) -> Event {
    let kind = if hidden {
        "content_hidden"
    } else {
        "content_restored"
    };
    Event::new(
        Domain::Reports,
        kind,
        json!({ "targetType": target_type, "targetId": target_id, "ownerId": owner_id, "by": by }),
    )
}

fn on_target(target_type: TargetType, target_id: &str) -> Condition {
    Condition::all()
        .add(report::Column::TargetType.eq(target_to(target_type)))
        .add(report::Column::TargetId.eq(target_id.to_owned()))
}

fn target_to(target: TargetType) -> report::ReportTargetType {
    match target {
        TargetType::Campaign => report::ReportTargetType::Campaign,
        TargetType::Challenge => report::ReportTargetType::Challenge,
        TargetType::User => report::ReportTargetType::User,
        TargetType::Submission => report::ReportTargetType::Submission,
    }
}

fn target_from(target: report::ReportTargetType) -> TargetType {
    match target {
        report::ReportTargetType::Campaign => TargetType::Campaign,
        report::ReportTargetType::Challenge => TargetType::Challenge,
        report::ReportTargetType::User => TargetType::User,
        report::ReportTargetType::Submission => TargetType::Submission,
    }
}

fn status_to(status: ReportStatus) -> report::ReportStatus {
    match status {
        ReportStatus::Open => report::ReportStatus::Open,
        ReportStatus::Resolved => report::ReportStatus::Resolved,
        ReportStatus::Dismissed => report::ReportStatus::Dismissed,
    }
}

fn reason_name(reason: Reason) -> &'static str {
    match reason {
        Reason::Spam => "SPAM",
        Reason::Fraud => "FRAUD",
        Reason::Inappropriate => "INAPPROPRIATE",
        Reason::Misinformation => "MISINFORMATION",
        Reason::Other => "OTHER",
    }
}

fn action_name(action: ModerationAction) -> &'static str {
    match action {
        ModerationAction::Dismiss => "DISMISS",
        ModerationAction::HideContent => "HIDE_CONTENT",
        ModerationAction::SuspendUser => "SUSPEND_USER",
        ModerationAction::RestoreContent => "RESTORE_CONTENT",
    }
}

fn to_report(row: report::Model) -> Result<Report, DomainError> {
    let reason: Reason = serde_json::from_value(serde_json::Value::String(row.reason.clone()))
        .map_err(|_| {
            DomainError::Internal(format!(
                "report {} has an unknown reason `{}`",
                row.id, row.reason
            ))
        })?;
    let resolution = row
        .resolution
        .as_deref()
        .map(|r| {
            serde_json::from_value::<ModerationAction>(serde_json::Value::String(r.to_owned()))
                .map_err(|_| {
                    DomainError::Internal(format!(
                        "report {} has an unknown resolution `{r}`",
                        row.id
                    ))
                })
        })
        .transpose()?;
    Ok(Report {
        id: row.id,
        legacy_id: row.legacy_id,
        reporter_id: row.reporter_id,
        target_type: target_from(row.target_type),
        target_id: row.target_id,
        target_owner_id: row.target_owner_id,
        reason,
        note: row.note,
        status: match row.status {
            report::ReportStatus::Open => ReportStatus::Open,
            report::ReportStatus::Resolved => ReportStatus::Resolved,
            report::ReportStatus::Dismissed => ReportStatus::Dismissed,
        },
        resolution,
        handled_by: row.handled_by,
        handled_at: row.handled_at,
        is_appeal: row.is_appeal,
        created_at: row.created_at,
    })
}

/// Money a batch of events moved: per currency, and per challenge and currency.
#[derive(Default)]
struct MoneyMoved {
    raised: HashMap<Currency, i64>,
    by_challenge: HashMap<(String, Currency), i64>,
}

impl MoneyMoved {
    fn add(&mut self, challenge_id: Option<&str>, amount: Money) -> Result<(), DomainError> {
        let overflow = || DomainError::Internal("a batch's donations overflow a total".to_owned());
        let raised = self.raised.entry(amount.currency).or_default();
        *raised = raised.checked_add(amount.minor).ok_or_else(overflow)?;
        if let Some(challenge_id) = challenge_id {
            let donated = self
                .by_challenge
                .entry((challenge_id.to_owned(), amount.currency))
                .or_default();
            *donated = donated.checked_add(amount.minor).ok_or_else(overflow)?;
        }
        Ok(())
    }
}
