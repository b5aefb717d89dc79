//! Nothing is lost or applied twice between domains while Redis misbehaves: 2,000
//! approvals become sponsor matches and campaign totals while Redis connections are
//! killed, Redis itself is killed and restarted, and consumers die mid-batch.
//!
//! The test runs its own Redis (append-only file, fsync on every write, so a SIGKILL
//! loses nothing it acknowledged) on a free port: killing clients of the shared Redis
//! would disturb every other test running beside it.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use gerak_actors::Domain;
use redis::AsyncCommands;
use serde_json::json;

use crate::{
    campaigns::{
        CREATE_CHALLENGE, JOIN, REVIEW, SET_CHALLENGE_STATUS, SUBMIT,
        active_campaign_with_challenge,
    },
    support::{Backend, Session, TestServer, servers_available},
};

const USERS: usize = 40;
const CHALLENGES: usize = 50; // USERS × CHALLENGES = 2,000 approvals
const REWARD_MINOR: i64 = 100_000; // 1,000.00 IDR per approval, in minor units

struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("gerak-redis-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Self {
            port,
            dir,
            child: None,
        };
        redis.spawn();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (it is on every machine of this project)");
        self.child = Some(child);
    }

    async fn wait_ready(&self) {
        let started = Instant::now();
        loop {
            if let Ok(client) = redis::Client::open(self.url())
                && let Ok(mut c) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok()
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "private Redis did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, as a crash would, then start again on the same files.
    async fn crash_and_restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.spawn();
        self.wait_ready().await;
    }

    async fn kill_clients(&self) {
        let Ok(client) = redis::Client::open(self.url()) else {
            return;
        };
        let Ok(mut c) = client.get_multiplexed_async_connection().await else {
            return;
        };
        for kind in ["normal", "pubsub"] {
            let _: redis::RedisResult<i64> = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("TYPE")
                .arg(kind)
                .query_async(&mut c)
                .await;
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_become_matches_once_while_redis_and_consumers_fail() {
    if !servers_available().await {
        return;
    }
    let mut redis = PrivateRedis::start();
    redis.wait_ready().await;
    let url = redis.url();
    let server = Arc::new(
        TestServer::start_with(
            Backend::Servers,
            &[
                "--redis-url",
                &url,
                "--event-claim-idle",
                "2",
                "--cache-ttl",
                "0",
            ],
        )
        .await,
    );
    let prefix = server.redis_prefix.clone();
    let admin = server.admin("chaos-admin@example.id").await;
    let sponsor = server.register("chaos-sponsor@example.id", "SPONSOR").await;
    let (campaign, first) = active_campaign_with_challenge(&server, &sponsor, "Chaos", None).await;
    let mut challenges = vec![first];
    while challenges.len() < CHALLENGES {
        let id = server
            .data(
                CREATE_CHALLENGE,
                json!({ "input": { "campaignId": campaign, "title": format!("Action {}", challenges.len()), "description": "Proof", "actionType": "PHOTO", "rewardPerAction": { "amount": "1000" } } }),
                Some(&sponsor.access),
            )
            .await["createChallenge"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        server
            .data(
                SET_CHALLENGE_STATUS,
                json!({ "id": id, "status": "ACTIVE" }),
                Some(&sponsor.access),
            )
            .await;
        challenges.push(id);
    }
    // The first challenge's reward differs (25,000): count it apart.
    let mut users: Vec<Session> = Vec::new();
    for i in 0..USERS {
        users.push(
            server
                .register(&format!("chaos-{i}@example.id"), "USER")
                .await,
        );
    }

    // Chaos beside the load: connections killed, Redis crashed, consumers killed.
    let stop = Arc::new(AtomicBool::new(false));
    let chaos = {
        let stop = stop.clone();
        let server = server.clone();
        tokio::spawn(async move {
            let mut round = 0usize;
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(400)).await;
                round += 1;
                match round % 4 {
                    0 => redis.crash_and_restart().await,
                    1 => redis.kill_clients().await,
                    2 => {
                        server.domains.restart_consumer(Domain::Donations);
                        server.domains.restart_consumer(Domain::Campaigns);
                    }
                    _ => server.domains.restart_consumer(Domain::Reports),
                }
            }
            redis
        })
    };

    let approved = Arc::new(AtomicUsize::new(0));
    let work: Vec<(usize, usize)> = (0..USERS)
        .flat_map(|u| (0..CHALLENGES).map(move |c| (u, c)))
        .collect();
    futures::stream::iter(work)
        .for_each_concurrent(8, |(u, c)| {
            let (server, users, challenges, sponsor, approved) =
                (&server, &users, &challenges, &sponsor, approved.clone());
            async move {
                let user = &users[u];
                let joined = server
                    .data(JOIN, json!({ "id": challenges[c] }), Some(&user.access))
                    .await;
                let participation = joined["joinChallenge"]["id"].as_str().unwrap().to_owned();
                server
                    .data(
                        SUBMIT,
                        json!({ "id": participation, "url": "https://example.id/proof.jpg" }),
                        Some(&user.access),
                    )
                    .await;
                server
                    .data(
                        REVIEW,
                        json!({ "id": participation, "ok": true }),
                        Some(&sponsor.access),
                    )
                    .await;
                approved.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await;
    stop.store(true, Ordering::SeqCst);
    let redis = chaos.await.unwrap();
    assert_eq!(approved.load(Ordering::SeqCst), USERS * CHALLENGES);

    // Every approval paid exactly once, and the campaign's total is its ledger balance.
    let first_reward: i64 = 2_500_000; // 25,000.00 IDR
    let expected = first_reward * USERS as i64 + REWARD_MINOR * (USERS * (CHALLENGES - 1)) as i64;
    let expected = format!("{}.{:02}", expected / 100, expected % 100);
    let progress = "query($id: ID!) { campaign(id: $id) { raised { amount } } donations(campaignId: $id, first: 1) { totalCount } }";
    let started = Instant::now();
    let settled = loop {
        let data = server
            .data(progress, json!({ "id": campaign }), Some(&admin.access))
            .await;
        if data["campaign"]["raised"]["amount"] == expected.as_str()
            && data["donations"]["totalCount"] == USERS * CHALLENGES
        {
            break data;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not settled: {data} (expected raised {expected} from {} matches)",
            USERS * CHALLENGES
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // Once settled it stays so: no late duplicate lands.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = server
        .data(progress, json!({ "id": campaign }), Some(&admin.access))
        .await;
    assert_eq!(again, settled);
    let statement = server
        .data(
            "query($id: ID!) { accountStatement(ownerType: CAMPAIGN, ownerId: $id) { closingBalance { amount } } }",
            json!({ "id": campaign }),
            Some(&admin.access),
        )
        .await;
    assert_eq!(
        statement["accountStatement"]["closingBalance"]["amount"],
        expected.as_str()
    );

    // Nothing valid was dead-lettered, and every group acknowledged what it read.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let dead: usize = c
        .xlen(format!("{prefix}:stream:dead-letter"))
        .await
        .unwrap();
    assert_eq!(dead, 0, "valid events were dead-lettered");
    let started = Instant::now();
    loop {
        let mut pending = 0;
        for stream in ["challenges", "donations", "campaigns"] {
            let groups: redis::streams::StreamInfoGroupsReply = c
                .xinfo_groups(format!("{prefix}:stream:{stream}"))
                .await
                .unwrap();
            pending += groups.groups.iter().map(|g| g.pending).sum::<usize>();
        }
        if pending == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let mut report = String::new();
            for stream in ["challenges", "donations", "campaigns"] {
                let key = format!("{prefix}:stream:{stream}");
                let groups: redis::streams::StreamInfoGroupsReply =
                    c.xinfo_groups(&key).await.unwrap();
                for g in groups.groups {
                    let consumers: redis::Value = redis::cmd("XINFO")
                        .arg("CONSUMERS")
                        .arg(&key)
                        .arg(&g.name)
                        .query_async(&mut c)
                        .await
                        .unwrap();
                    report.push_str(&format!(
                        "{stream} {} pending {} consumers {:?}\n",
                        g.name, g.pending, consumers
                    ));
                }
            }
            panic!("{pending} entries never acknowledged:\n{report}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(redis);
}
