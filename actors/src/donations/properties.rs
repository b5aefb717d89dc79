//! Property tests of the ledger: over random sequences of donate, pay, fail, refund and
//! sponsor-match, the books balance and every campaign's account equals what it raised.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::{
    bus::Event,
    db::ScratchDb,
    money::{Currency, Money},
    runtime::{ApplyEvent, Domain},
};

#[derive(Debug, Clone)]
enum Op {
    Donate {
        donor: usize,
        campaign: usize,
        amount: i64,
    },
    Pay {
        donation: usize,
        succeeded: bool,
    },
    Refund {
        donation: usize,
        amount: Option<i64>,
    },
    Match {
        participation: usize,
        campaign: usize,
        reward: i64,
        within_quota: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..2usize, 1..100_000i64).prop_map(|(donor, campaign, amount)| Op::Donate {
            donor,
            campaign,
            amount
        }),
        (0..20usize, any::<bool>()).prop_map(|(donation, succeeded)| Op::Pay {
            donation,
            succeeded
        }),
        (0..20usize, proptest::option::of(1..120_000i64))
            .prop_map(|(donation, amount)| Op::Refund { donation, amount }),
        (0..6usize, 0..2usize, 1..50_000i64, any::<bool>()).prop_map(
            |(participation, campaign, reward, within_quota)| Op::Match {
                participation,
                campaign,
                reward,
                within_quota
            }
        ),
    ]
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let scratch = ScratchDb::open(Domain::Donations)
        .await
        .map_err(TestCaseError::fail)?;
    let db = scratch.db.clone();
    let service = DonationsService {
        db,
        outbox: crate::runtime::Outbox::default(),
        payments: Default::default(),
    };
    let idr = Currency::parse("currency", "IDR").map_err(|e| TestCaseError::fail(e.to_string()))?;
    let campaigns = ["c0", "c1"].map(|c| format!("0193c1a2-0000-7000-8000-00000000000{}", &c[1..]));
    let mut donations: Vec<Donation> = Vec::new();
    for op in ops {
        match op {
            Op::Donate {
                donor,
                campaign,
                amount,
            } => {
                let donation = service
                    .clone()
                    .donate(Donate {
                        donor_id: format!("donor-{donor}"),
                        campaign_id: campaigns[campaign].clone(),
                        campaign_currency: "IDR".to_owned(),
                        amount: Money::new(amount, idr),
                        anonymous: donor == 0,
                    })
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                donations.push(donation);
            }
            Op::Pay {
                donation,
                succeeded,
            } => {
                if let Some(d) = donations.get(donation % donations.len().max(1)) {
                    let _ = service
                        .clone()
                        .record_payment(RecordPayment {
                            payment_ref: d.payment_ref.clone(),
                            succeeded,
                            amount: d.amount,
                        })
                        .await;
                }
            }
            Op::Refund { donation, amount } => {
                if let Some(d) = donations.get(donation % donations.len().max(1)) {
                    let _ = service
                        .clone()
                        .refund(RefundDonation {
                            id: d.id.clone(),
                            amount: amount.map(|a| Money::new(a, idr)),
                        })
                        .await;
                }
            }
            Op::Match {
                participation,
                campaign,
                reward,
                within_quota,
            } => {
                // Delivered twice, as a redelivery would: pays at most once.
                let event = Arc::new(Event::new(
                    Domain::Challenges,
                    "action_approved",
                    json!({
                        "participationId": format!("p-{participation}"),
                        "challengeId": "challenge",
                        "campaignId": campaigns[campaign],
                        "sponsorId": "sponsor",
                        "reward": { "amount": Money::new(reward, idr).amount(), "currency": "IDR" },
                        "withinQuota": within_quota,
                    }),
                ));
                for _ in 0..2 {
                    service
                        .clone()
                        .apply(ApplyEvent(event.clone()))
                        .await
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
            }
        }
    }
    // Per currency, the entries sum to zero.
    let totals = service
        .clone()
        .totals(LedgerTotals)
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        totals.iter().all(|m| m.minor == 0),
        "unbalanced: {:?}",
        totals
    );
    // Each campaign's account equals what it raised: paid donations net of refunds.
    for campaign in &campaigns {
        let page = service
            .clone()
            .list(ListDonations {
                campaign_id: Some(campaign.clone()),
                donor_id: None,
                paid_only: false,
                after: None,
                first: 10_000,
            })
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut raised = 0;
        for d in &page.donations {
            prop_assert!(d.refunded.minor >= 0 && d.refunded.minor <= d.amount.minor);
            if matches!(d.status, DonationStatus::Paid | DonationStatus::Refunded) {
                raised += d.amount.minor - d.refunded.minor;
            }
            prop_assert_eq!(
                d.status == DonationStatus::Refunded,
                d.refunded.minor == d.amount.minor && d.refunded.minor > 0
            );
        }
        let matches = page
            .donations
            .iter()
            .filter(|d| d.kind == DonationKind::SponsorMatch)
            .count();
        let distinct = page
            .donations
            .iter()
            .filter_map(|d| d.participation_id.clone())
            .collect::<std::collections::HashSet<_>>()
            .len();
        prop_assert_eq!(matches, distinct, "one match per participation");
        let statement = service
            .clone()
            .statement(GetStatement {
                owner_type: OwnerType::Campaign,
                owner_id: campaign.clone(),
                currency: "IDR".to_owned(),
                from: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                to: chrono::Utc::now() + chrono::Duration::seconds(5),
                after: None,
                first: 1,
            })
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(statement.closing_balance.minor, raised);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_books_balance(ops in proptest::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        runtime.block_on(run(ops))?;
    }
}
