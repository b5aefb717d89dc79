//! The event path: `recordPayment` commits a payment, the donations domain publishes
//! `donation_paid` (outbox → bus; over Redis with `GERAK_REDIS_URL`), and a
//! `donationReceived` subscriber gets its message over WebSocket (graphql-transport-ws).
//! Payments are recorded open-loop at a fixed rate; for each one we know when its
//! request left, when its response came back and when its message arrived.
//!
//! The commit happens between the request and the response, so the true latency lies
//! between `message - response` (lower bound) and `message - request` (which includes
//! the mutation's own work: parsing, the account check, waiting for the writer). The
//! figure checked is `message - paidAt`: `paidAt` is stamped by the server inside the
//! payment's transaction, just before its commit, so it bounds commit → message from
//! above without counting the mutation's queueing (server and bench share one clock).

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt, stream};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::{
    Error, Result,
    gql::Client,
    seed::{DONATE, PAY, str_at},
    state::State,
    stats::{Summary, summarize},
};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long)]
    state: PathBuf,
    /// Payments recorded (and so events) per second.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// A label for the report: the bus the server runs on.
    #[arg(long, default_value = "redis")]
    bus: String,
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Serialize, Debug)]
pub struct EventsResult {
    pub bus: String,
    pub rate: u64,
    pub duration_s: f64,
    pub sent: usize,
    pub mutation_failures: usize,
    pub first_mutation_error: Option<String>,
    pub received: usize,
    pub missing: usize,
    /// `paidAt` (stamped in the payment's transaction, before commit) → subscription
    /// message: commit → message, from above.
    pub commit: Summary,
    /// Request sent → subscription message (includes the mutation's own work).
    pub upper: Summary,
    /// Response received → subscription message, 0 when the message came first
    /// (lower bound of commit → message).
    pub lower: Summary,
    /// The `recordPayment` mutation itself.
    pub mutation: Summary,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribe(url: &str, token: &str) -> Result<Socket> {
    let ws = url.replacen("http://", "ws://", 1);
    let mut request = format!("{}/graphql", ws.trim_end_matches('/'))
        .into_client_request()
        .map_err(Box::new)?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .map_err(Box::new)?;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket
        .send(Message::text(init.to_string()))
        .await
        .map_err(Box::new)?;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let message: Value = serde_json::from_str(text.as_str())?;
                if message["type"] == "connection_ack" {
                    break;
                }
                return Err(Error::msg(format!("no connection_ack: {message}")));
            }
            Ok(Some(Ok(_))) => continue,
            _ => return Err(Error::msg("the WebSocket closed before connection_ack")),
        }
    }
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { donationReceived { id paidAt } }" } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .map_err(Box::new)?;
    Ok(socket)
}

/// Warm-up payments at most (one a second).
const WARMUPS: usize = 180;

struct Pending {
    id: String,
    payment_ref: String,
}

/// Per payment reference: when its message arrived, and its delay after `paidAt` (µs).
type Arrivals = HashMap<String, (Instant, Option<u64>)>;

pub async fn run(args: Args) -> Result<()> {
    let state = Arc::new(State::load(&args.state)?);
    let client = Client::new(&args.url)?;
    let count = (args.rate * args.duration) as usize;

    // Pending donations to pay, and some for the warm-up.
    eprintln!("events: making {} pending donations", count + WARMUPS);
    let made: Vec<Result<Pending>> = stream::iter(0..count + WARMUPS)
        .map(|i| {
            let (client, state) = (client.clone(), state.clone());
            async move {
                let user = &state.users[i % state.users.len()];
                let campaign = &state.campaigns[(i / 3) % state.campaigns.len()];
                let data = client
                    .data_retry(DONATE, json!({ "input": { "campaignId": campaign.id, "amount": { "amount": "15000" } } }), Some(&user.token))
                    .await?;
                Ok(Pending {
                    id: str_at(&data, &["donate", "id"])?,
                    payment_ref: str_at(&data, &["donate", "paymentRef"])?,
                })
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut pending = made.into_iter().collect::<Result<Vec<_>>>()?;
    let warmups = pending.split_off(count);

    let mut socket = subscribe(&args.url, &state.service.token).await?;
    let pay = |payment_ref: String| {
        let (client, token) = (client.clone(), state.service.token.clone());
        async move {
            client
                .data(PAY, json!({ "input": { "paymentRef": payment_ref, "succeeded": true, "amount": { "amount": "15000" } } }), Some(&token))
                .await
        }
    };
    // The subscription starts asynchronously, and the relay may still be publishing the
    // events of the donations just made: pay warm-up donations, one a second, until one
    // arrives, so that the measurement starts on an idle event path.
    let mut live = false;
    for warmup in warmups {
        pay(warmup.payment_ref).await?;
        if let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_millis(1000), socket.next()).await
        {
            let message: Value = serde_json::from_str(text.as_str())?;
            if message["type"] != "next"
                || message["payload"]["data"]["donationReceived"]["id"].is_null()
            {
                return Err(Error::msg(format!("the subscription answered: {message}")));
            }
            live = true;
            break;
        }
    }
    if !live {
        return Err(Error::msg(
            "the donationReceived subscription never delivered",
        ));
    }
    // Drain any late warm-up messages.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(300), socket.next()).await {}

    // Each message's arrival, and how long after its `paidAt` (wall clock) it came.
    let arrivals: Arc<Mutex<Arrivals>> = Arc::new(Mutex::new(HashMap::with_capacity(count)));
    let reader = {
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            while let Ok(Some(Ok(message))) =
                tokio::time::timeout(Duration::from_secs(5), socket.next()).await
            {
                let (now, wall) = (Instant::now(), chrono::Utc::now());
                if let Message::Text(text) = message
                    && let Ok(value) = serde_json::from_str::<Value>(text.as_str())
                    && let Some(id) = value["payload"]["data"]["donationReceived"]["id"].as_str()
                {
                    let since_paid = value["payload"]["data"]["donationReceived"]["paidAt"]
                        .as_str()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .and_then(|paid| (wall - paid.to_utc()).num_microseconds())
                        .map(|us| us.max(0) as u64);
                    arrivals
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(id.to_owned(), (now, since_paid));
                }
            }
        })
    };

    eprintln!("events: paying {count} donations at {}/s", args.rate);
    let interval = Duration::from_nanos(1_000_000_000 / args.rate.max(1));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, donation) in pending.into_iter().enumerate() {
        tokio::time::sleep_until((started + interval * n as u32).into()).await;
        let paid = pay(donation.payment_ref);
        tasks.spawn(async move {
            let sent = Instant::now();
            let result = paid.await;
            (
                donation.id,
                sent,
                Instant::now(),
                result.err().map(|e| e.to_string()),
            )
        });
    }
    let mut timings = Vec::with_capacity(count);
    let mut failures = 0;
    let mut first_mutation_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((id, sent, answered, None)) => timings.push((id, sent, answered)),
            Ok((_, _, _, Some(err))) => {
                failures += 1;
                first_mutation_error.get_or_insert(err);
            }
            Err(err) => {
                failures += 1;
                first_mutation_error.get_or_insert(err.to_string());
            }
        }
    }
    let duration_s = started.elapsed().as_secs_f64();
    // Give the last messages time to arrive; the reader stops after 5 s of silence.
    let _ = reader.await;
    let arrivals = std::mem::take(&mut *arrivals.lock().unwrap_or_else(|p| p.into_inner()));

    let (mut upper, mut lower, mut mutation) = (Vec::new(), Vec::new(), Vec::new());
    let mut commit = Vec::new();
    let mut missing = 0;
    for (id, sent, answered) in &timings {
        mutation.push(answered.duration_since(*sent).as_micros() as u64);
        match arrivals.get(id) {
            Some((arrived, since_paid)) => {
                commit.extend(*since_paid);
                upper.push(arrived.saturating_duration_since(*sent).as_micros() as u64);
                lower.push(arrived.saturating_duration_since(*answered).as_micros() as u64);
            }
            None => missing += 1,
        }
    }
    let result = EventsResult {
        bus: args.bus,
        rate: args.rate,
        duration_s,
        sent: count,
        mutation_failures: failures,
        first_mutation_error,
        received: upper.len(),
        missing,
        commit: summarize(commit),
        upper: summarize(upper),
        lower: summarize(lower),
        mutation: summarize(mutation),
    };
    eprintln!(
        "events over {}: {} sent, {} received, {} missing; paidAt→message p50 {} µs p99 {} µs; request→message p50 {} µs p99 {} µs; response→message p50 {} µs p99 {} µs",
        result.bus,
        result.sent,
        result.received,
        result.missing,
        result.commit.p50_us,
        result.commit.p99_us,
        result.upper.p50_us,
        result.upper.p99_us,
        result.lower.p50_us,
        result.lower.p99_us
    );
    let text = serde_json::to_string_pretty(&result)?;
    match &args.out {
        Some(path) => std::fs::write(path, text)?,
        None => println!("{text}"),
    }
    Ok(())
}
