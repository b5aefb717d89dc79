use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use gerak_actors::reports as domain;

use crate::{
    challenges::Challenge,
    error::{ApiError, FieldResult},
    money::Money,
    users::{User, load_user},
};

macro_rules! mirror_enum {
    ($(#[$doc:meta])* $name:ident = $domain:ident { $($variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $name { $($variant),* }

        impl From<domain::$domain> for $name {
            fn from(value: domain::$domain) -> Self {
                match value { $(domain::$domain::$variant => $name::$variant),* }
            }
        }

        impl From<$name> for domain::$domain {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => domain::$domain::$variant),* }
            }
        }
    };
}

mirror_enum!(
    /// What a report is about.
    ReportTargetType = TargetType { Campaign, Challenge, User, Submission }
);
mirror_enum!(
    ReportReason = Reason {
        Spam,
        Fraud,
        Inappropriate,
        Misinformation,
        Other
    }
);
mirror_enum!(
    /// OPEN until an admin resolves or dismisses it (with every other open report on the target).
    ReportStatus = ReportStatus { Open, Resolved, Dismissed }
);
mirror_enum!(
    /// An admin's decision on a report.
    ModerationAction = ModerationAction { Dismiss, HideContent, SuspendUser, RestoreContent }
);

/// A report of content or a user, or an owner's appeal against hiding.
pub struct Report(pub domain::Report);

#[Object]
impl Report {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn reporter(&self, ctx: &Context<'_>) -> FieldResult<User> {
        Ok(User::new(
            load_user(ctx, &self.0.reporter_id)
                .await?
                .ok_or_else(|| ApiError::NotFound("user".to_owned()))?,
        ))
    }

    async fn target_type(&self) -> ReportTargetType {
        self.0.target_type.into()
    }

    async fn target_id(&self) -> ID {
        ID(self.0.target_id.clone())
    }

    async fn reason(&self) -> ReportReason {
        self.0.reason.into()
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    async fn status(&self) -> ReportStatus {
        self.0.status.into()
    }

    async fn resolution(&self) -> Option<ModerationAction> {
        self.0.resolution.map(Into::into)
    }

    async fn handled_by(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        match &self.0.handled_by {
            Some(id) => Ok(load_user(ctx, id).await?.map(User::new)),
            None => Ok(None),
        }
    }

    async fn handled_at(&self) -> Option<DateTime<Utc>> {
        self.0.handled_at
    }

    /// True for an owner's appeal against hiding their content.
    async fn is_appeal(&self) -> bool {
        self.0.is_appeal
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The admin dashboard's "report challenge" page.
#[derive(SimpleObject)]
pub struct ChallengeReport {
    pub challenge: Challenge,
    /// Everyone who joined.
    pub participants: i64,
    /// Actions waiting for review.
    pub submitted: i64,
    pub approved: i64,
    /// Rejected and not (yet) resubmitted.
    pub rejected: i64,
    /// Paid through the challenge (sponsor matches), net of refunds.
    pub donated: Money,
    pub open_reports: i64,
}

#[derive(SimpleObject)]
pub struct AdminDashboard {
    pub users: i64,
    pub sponsors: i64,
    pub active_campaigns: i64,
    /// One per currency.
    pub raised: Vec<Money>,
    pub pending_reviews: i64,
    pub open_reports: i64,
}
