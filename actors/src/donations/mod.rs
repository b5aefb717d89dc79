//! The donations domain: direct gifts and their payments, sponsor matches for approved
//! actions, refunds, and the double-entry ledger behind account statements.

mod group_commit;
mod messages;
#[cfg(test)]
mod properties;
mod service;

pub use messages::*;
pub use service::DonationsService;

use crate::runtime::{ApplyEvent, ApplyEvents, Domain, domain_handle, route_messages};

route_messages!(DonationsService {
    Donate => donate,
    RecordPayment => record_payment,
    RefundDonation => refund,
    GetDonations => get,
    ListDonations => list,
    GetStatement => statement,
    LedgerTotals => totals,
    ApplyEvent => apply,
    ApplyEvents => apply_all,
});

domain_handle!(
    /// The way in to the donations domain.
    DonationsHandle, Domain::Donations, DonationsService, {
        donate: Donate,
        record_payment: RecordPayment,
        refund: RefundDonation,
        get: GetDonations,
        list: ListDonations,
        statement: GetStatement,
        totals: LedgerTotals,
        apply: ApplyEvent,
        apply_all: ApplyEvents,
    }
);

/// Approved actions are paid by their sponsors.
/// The domains whose events [`wants`] picks from.
pub(crate) const SOURCES: &[crate::runtime::Domain] = &[crate::runtime::Domain::Challenges];

pub(crate) fn wants(event: &crate::bus::Event) -> bool {
    event.kind == "challenges.action_approved"
}
