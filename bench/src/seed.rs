//! Seeds the dataset through the real GraphQL API, many requests in flight: accounts,
//! campaigns and challenges made ACTIVE, joins with submissions and reviews, donations
//! with their payments recorded by a SERVICE account.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use futures::{StreamExt, stream};
use serde_json::{Value, json};

use crate::{
    Error, Result,
    gql::Client,
    state::{Account, Campaign, Challenge, State, coprime_step},
};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Where to write what was made (ids, slugs, tokens) for the drivers.
    #[arg(long)]
    state: PathBuf,
    #[arg(long, default_value = "admin@bench.gerak.id")]
    admin_email: String,
    #[arg(long, env = "GERAK_ADMIN_PASSWORD")]
    admin_password: String,
    #[arg(long, default_value_t = 100)]
    campaigns: usize,
    #[arg(long, default_value_t = 20)]
    challenges_per_campaign: usize,
    #[arg(long, default_value_t = 20)]
    sponsors: usize,
    #[arg(long, default_value_t = 1000)]
    users: usize,
    #[arg(long, default_value_t = 50_000)]
    participations: usize,
    #[arg(long, default_value_t = 100_000)]
    donations: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 48)]
    concurrency: usize,
}

const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }";
const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }";
const SET_ROLE: &str = "mutation($id: ID!) { setUserRole(userId: $id, role: SERVICE) { role } }";
const CREATE_CAMPAIGN: &str =
    "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id slug } }";
const SET_CAMPAIGN_STATUS: &str =
    "mutation($id: ID!) { setCampaignStatus(id: $id, status: ACTIVE) { id } }";
const CREATE_CHALLENGE: &str =
    "mutation($input: CreateChallengeInput!) { createChallenge(input: $input) { id } }";
const SET_CHALLENGE_STATUS: &str =
    "mutation($id: ID!) { setChallengeStatus(id: $id, status: ACTIVE) { id } }";
pub const JOIN: &str = "mutation($id: ID!) { joinChallenge(challengeId: $id) { id status } }";
pub const SUBMIT: &str = "mutation($id: ID!, $url: String!) { submitAction(participationId: $id, proofUrl: $url) { id status } }";
pub const REVIEW: &str = "mutation($id: ID!, $ok: Boolean!) { reviewAction(participationId: $id, approve: $ok) { id status } }";
pub const DONATE: &str =
    "mutation($input: DonateInput!) { donate(input: $input) { id paymentRef amount { amount } } }";
pub const PAY: &str =
    "mutation($input: PaymentEventInput!) { recordPayment(input: $input) { id status } }";
const PASSWORD: &str = "bench password 123";

/// Runs `count` jobs with `concurrency` in flight, printing progress; fails if any failed.
async fn phase<F, Fut>(name: &str, count: usize, concurrency: usize, job: F) -> Result<Vec<Value>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Value>>,
{
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let step = (count / 10).max(1);
    let results: Vec<(usize, Result<Value>)> = stream::iter(0..count)
        .map(|i| {
            let done = done.clone();
            let failures = failures.clone();
            let fut = job(i);
            async move {
                let result = fut.await;
                if let Err(err) = &result
                    && failures.fetch_add(1, Ordering::Relaxed) < 3
                {
                    eprintln!("  {name} #{i} failed: {err}");
                }
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(step) {
                    eprintln!(
                        "  {name}: {n}/{count} ({:.0}/s)",
                        n as f64 / started.elapsed().as_secs_f64()
                    );
                }
                (i, result)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let failed = failures.load(Ordering::Relaxed);
    eprintln!(
        "seeded {count} {name} in {:.1}s ({failed} failed)",
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        return Err(Error::msg(format!("{failed} of {count} {name} failed")));
    }
    let mut ordered: Vec<Option<Value>> = vec![None; count];
    for (i, result) in results {
        ordered[i] = result.ok();
    }
    Ok(ordered
        .into_iter()
        .map(|v| v.unwrap_or(Value::Null))
        .collect())
}

fn account(payload: &Value) -> Result<Account> {
    Ok(Account {
        id: str_at(payload, &["user", "id"])?,
        token: str_at(payload, &["accessToken"])?,
    })
}

pub fn str_at(value: &Value, path: &[&str]) -> Result<String> {
    let mut v = value;
    for key in path {
        v = &v[*key];
    }
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::msg(format!("no {path:?} in {value}")))
}

pub async fn run(args: Args) -> Result<()> {
    let client = Client::new(&args.url)?;
    let started = Instant::now();
    let run_id = std::process::id();
    let c = args.concurrency;

    let admin = client
        .data(
            LOGIN,
            json!({ "e": args.admin_email, "p": args.admin_password }),
            None,
        )
        .await?;
    let admin = account(&admin["login"])?;

    // Accounts: argon2id makes registering CPU-bound, so a few at a time.
    let register = |email: String, role: &'static str, name: String| {
        let client = client.clone();
        async move {
            client
                .data_retry(
                    REGISTER,
                    json!({ "input": { "email": email, "password": PASSWORD, "fullName": name, "role": role, "companyName": if role == "SPONSOR" { Some(format!("{name} Ltd")) } else { None } } }),
                    None,
                )
                .await
        }
    };
    let sponsors = phase("sponsors", args.sponsors, 4, |i| {
        register(
            format!("sponsor{i}-{run_id}@bench.gerak.id"),
            "SPONSOR",
            format!("Sponsor {i}"),
        )
    })
    .await?
    .iter()
    .map(|v| account(&v["register"]))
    .collect::<Result<Vec<_>>>()?;
    let users = phase("users", args.users, 4, |i| {
        register(
            format!("user{i}-{run_id}@bench.gerak.id"),
            "USER",
            format!("Person {i}"),
        )
    })
    .await?
    .iter()
    .map(|v| account(&v["register"]))
    .collect::<Result<Vec<_>>>()?;
    let service_email = format!("payments-{run_id}@bench.gerak.id");
    let service = register(service_email.clone(), "USER", "Payments adapter".to_owned()).await?;
    let service = account(&service["register"])?;
    client
        .data(SET_ROLE, json!({ "id": service.id }), Some(&admin.token))
        .await?;
    let service = account(
        &client
            .data(LOGIN, json!({ "e": service_email, "p": PASSWORD }), None)
            .await?["login"],
    )?;

    // Campaigns, ACTIVE, each organized by a sponsor.
    let made = phase("campaigns", args.campaigns, c, |i| {
        let client = client.clone();
        let sponsor = &sponsors[i % sponsors.len().max(1)];
        async move {
            let data = client
                .data_retry(
                    CREATE_CAMPAIGN,
                    json!({ "input": { "title": format!("Campaign {i}: clean the beach of Kuta"), "description": "Beach clean-ups every weekend; every bag counts.", "goal": { "amount": "50000000" } } }),
                    Some(&sponsor.token),
                )
                .await?;
            let id = str_at(&data, &["createCampaign", "id"])?;
            client.data_retry(SET_CAMPAIGN_STATUS, json!({ "id": id }), Some(&sponsor.token)).await?;
            Ok(data["createCampaign"].clone())
        }
    })
    .await?;
    let campaigns = made
        .iter()
        .enumerate()
        .map(|(i, v)| {
            Ok(Campaign {
                id: str_at(v, &["id"])?,
                slug: str_at(v, &["slug"])?,
                sponsor: i % sponsors.len().max(1),
            })
        })
        .collect::<Result<Vec<_>>>()?;

    // Challenges, ACTIVE, with a quota so that remaining quotas differ.
    let per = args.challenges_per_campaign;
    let made = phase("challenges", campaigns.len() * per, c, |j| {
        let client = client.clone();
        let campaign = &campaigns[j / per];
        let token = sponsors[campaign.sponsor].token.clone();
        let campaign_id = campaign.id.clone();
        async move {
            let data = client
                .data_retry(
                    CREATE_CHALLENGE,
                    json!({ "input": { "campaignId": campaign_id, "title": format!("Challenge {j}: pick up 1 kg of plastic"), "description": "A photo of the full bag", "actionType": "PHOTO", "rewardPerAction": { "amount": "25000" }, "quota": 10 } }),
                    Some(&token),
                )
                .await?;
            let id = str_at(&data, &["createChallenge", "id"])?;
            client.data_retry(SET_CHALLENGE_STATUS, json!({ "id": id }), Some(&token)).await?;
            Ok(Value::String(id))
        }
    })
    .await?;
    let challenges = made
        .iter()
        .enumerate()
        .map(|(j, v)| {
            Ok(Challenge {
                id: v
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::msg("challenge id"))?,
                campaign: j / per,
            })
        })
        .collect::<Result<Vec<_>>>()?;

    let joins_per_user = args
        .participations
        .div_ceil(users.len().max(1))
        .min(challenges.len());
    let state = State {
        service,
        sponsors,
        users,
        campaigns,
        challenges,
        joins_per_user,
        join_step: coprime_step(made.len()),
    };
    state.save(&args.state)?;

    // Participations: 40% submit proof; of those, half approved, a quarter rejected, a
    // quarter left waiting for review.
    let total = (state.users.len() * joins_per_user).min(args.participations);
    phase("participations", total, c, |i| {
        let client = client.clone();
        let state = &state;
        async move {
            let (user, k) = (i % state.users.len(), i / state.users.len());
            let challenge = state.challenge_of(user, k);
            let token = state.users[user].token.as_str();
            let joined = client
                .data_retry(
                    JOIN,
                    json!({ "id": state.challenges[challenge].id }),
                    Some(token),
                )
                .await?;
            let id = str_at(&joined, &["joinChallenge", "id"])?;
            if k % 5 < 2 {
                client
                    .data_retry(
                        SUBMIT,
                        json!({ "id": id, "url": format!("https://img.bench.gerak.id/{i}.jpg") }),
                        Some(token),
                    )
                    .await?;
                if k % 10 != 6 {
                    client
                        .data_retry(
                            REVIEW,
                            json!({ "id": id, "ok": k % 5 == 0 }),
                            Some(state.organizer_token(challenge)),
                        )
                        .await?;
                }
            }
            Ok(Value::Null)
        }
    })
    .await?;

    // Donations: each paid, except one in fifty whose payment failed.
    phase("donations", args.donations, c, |i| {
        let client = client.clone();
        let state = &state;
        async move {
            let (user, d) = (i % state.users.len(), i / state.users.len());
            let campaign = &state.campaigns[(user * 13 + d * 7) % state.campaigns.len()];
            let amount = (10 + (user * 31 + d * 17) % 50 * 5) * 1000;
            let donated = client
                .data_retry(
                    DONATE,
                    json!({ "input": { "campaignId": campaign.id, "amount": { "amount": amount.to_string() }, "anonymous": i % 10 == 0 } }),
                    Some(&state.users[user].token),
                )
                .await?;
            let payment_ref = str_at(&donated, &["donate", "paymentRef"])?;
            client
                .data_retry(
                    PAY,
                    json!({ "input": { "paymentRef": payment_ref, "succeeded": i % 50 != 0, "amount": { "amount": amount.to_string() } } }),
                    Some(&state.service.token),
                )
                .await?;
            Ok(Value::Null)
        }
    })
    .await?;

    eprintln!(
        "seeding done in {:.0}s: {} campaigns, {} challenges, {total} participations, {} donations",
        started.elapsed().as_secs_f64(),
        state.campaigns.len(),
        state.challenges.len(),
        args.donations
    );
    Ok(())
}
