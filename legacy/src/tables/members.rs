//! The campaigns domain's members, written by two legacy tables: a participation makes
//! its user a participant of the challenge's campaign, a payment makes its donor a donor.

use chrono::{DateTime, Utc};
use gerak_actors::Domain;
use uuid::Uuid;

use crate::{
    Importer,
    batch::{Batch, Insert, text, time},
};

pub(crate) const MEMBERS_TABLE: &str = "campaign_members";
const MEMBER_COLUMNS: &[&str] = &["campaign_id", "user_id", "kind", "since"];

/// A member is (campaign, kind, user); the first row written for one stays.
pub(crate) type MemberKey = (Uuid, &'static str, Uuid);

impl Importer {
    /// The INSERT of member rows. While a first load into PostgreSQL has the table's key
    /// deferred (`indexes`), there is no key for `ON CONFLICT` to find: the rows go in
    /// plain, and [`Importer::push_member`] writes each member once. Random keys inserted
    /// into that key one by one cost the load a tenth of its time.
    pub(crate) fn members_insert(&self) -> Insert {
        let insert = Insert::new(MEMBERS_TABLE, MEMBER_COLUMNS);
        if self.members_written.is_some() {
            insert
        } else {
            insert.ignore(&["campaign_id", "kind", "user_id"])
        }
    }

    /// Adds a member row to the campaigns domain's part of `batch`, unless this run wrote
    /// that member already while the key is deferred.
    pub(crate) fn push_member(
        &mut self,
        batch: &mut Batch,
        insert: &Insert,
        (campaign, kind, user): MemberKey,
        since: DateTime<Utc>,
    ) {
        if let Some(written) = &mut self.members_written
            && !written.insert((campaign, kind, user))
        {
            return;
        }
        batch.push_secondary(
            Domain::Campaigns,
            insert,
            vec![
                text(campaign.to_string()),
                text(user.to_string()),
                text(kind),
                time(since),
            ],
        );
    }
}
