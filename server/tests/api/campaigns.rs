//! Campaigns and challenges, walked through as the product is used.

use std::time::{Duration, Instant};

use gerak_actors::Domain;
use serde_json::{Value, json};

use crate::{
    on_both_backends,
    support::{Session, TestServer, error_code},
};

pub const CREATE_CAMPAIGN: &str = "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id slug status currency: raised { currency } organizer { id } } }";
pub const SET_CAMPAIGN_STATUS: &str = "mutation($id: ID!, $status: CampaignStatus!) { setCampaignStatus(id: $id, status: $status) { id status } }";
pub const CREATE_CHALLENGE: &str = "mutation($input: CreateChallengeInput!) { createChallenge(input: $input) { id status quota sponsor { id } rewardPerAction { amount currency } } }";
pub const SET_CHALLENGE_STATUS: &str = "mutation($id: ID!, $status: ChallengeStatus!) { setChallengeStatus(id: $id, status: $status) { id status } }";
pub const JOIN: &str =
    "mutation($id: ID!) { joinChallenge(challengeId: $id) { id status user { id } } }";
pub const SUBMIT: &str = "mutation($id: ID!, $url: String!) { submitAction(participationId: $id, proofUrl: $url) { id status proofUrl } }";
pub const REVIEW: &str = "mutation($id: ID!, $ok: Boolean!, $note: String) { reviewAction(participationId: $id, approve: $ok, note: $note) { id status reviewNote } }";

/// An ACTIVE campaign of `sponsor` with one ACTIVE challenge; returns (campaign, challenge).
pub async fn active_campaign_with_challenge(
    server: &TestServer,
    sponsor: &Session,
    title: &str,
    quota: Option<i32>,
) -> (String, String) {
    let campaign = server
        .data(
            CREATE_CAMPAIGN,
            json!({ "input": { "title": title, "description": "Clean the beach together", "goal": { "amount": "5000000" } } }),
            Some(&sponsor.access),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .data(
            SET_CAMPAIGN_STATUS,
            json!({ "id": campaign, "status": "ACTIVE" }),
            Some(&sponsor.access),
        )
        .await;
    let challenge = server
        .data(
            CREATE_CHALLENGE,
            json!({ "input": { "campaignId": campaign, "title": "Pick up 1 kg of plastic", "description": "Photo of the bag", "actionType": "PHOTO", "rewardPerAction": { "amount": "25000" }, "quota": quota } }),
            Some(&sponsor.access),
        )
        .await["createChallenge"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .data(
            SET_CHALLENGE_STATUS,
            json!({ "id": challenge, "status": "ACTIVE" }),
            Some(&sponsor.access),
        )
        .await;
    (campaign, challenge)
}

/// Polls `query` until `done` holds (projections follow events), for at most 5 s.
pub async fn eventually(
    server: &TestServer,
    query: &str,
    vars: Value,
    token: Option<&str>,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let data = server.data(query, vars.clone(), token).await;
        if done(&data) {
            return data;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not reached in time: {data:#}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

on_both_backends! {
    async fn sponsor_runs_a_campaign_and_users_take_part(server: TestServer) {
        let sponsor = server.register("sponsor@example.id", "SPONSOR").await;
        let created = server
            .data(
                CREATE_CAMPAIGN,
                json!({ "input": { "title": "Bersih Pantai Kuta!", "description": "Beach clean-up", "goal": { "amount": "1000000.50", "currency": "IDR" } } }),
                Some(&sponsor.access),
            )
            .await;
        let campaign = created["createCampaign"]["id"].as_str().unwrap().to_owned();
        assert_eq!(created["createCampaign"]["slug"], "bersih-pantai-kuta");
        assert_eq!(created["createCampaign"]["status"], "DRAFT");
        assert_eq!(created["createCampaign"]["organizer"]["id"], sponsor.user_id.as_str());

        // A second campaign with the same title gets a readable, unique slug.
        let twin = server
            .data(CREATE_CAMPAIGN, json!({ "input": { "title": "Bersih Pantai Kuta!", "description": "again" } }), Some(&sponsor.access))
            .await;
        assert_eq!(twin["createCampaign"]["slug"], "bersih-pantai-kuta-2");

        // Drafts are invisible to others until activated.
        let user = server.register("ayu@example.id", "USER").await;
        let by_slug = "query($slug: String) { campaign(slug: $slug) { id title status goal { amount currency } raised { amount } participantCount } }";
        let hidden_draft = server.gql(by_slug, json!({ "slug": "bersih-pantai-kuta" }), Some(&user.access)).await;
        assert_eq!(error_code(&hidden_draft), "NOT_FOUND");
        server.data(SET_CAMPAIGN_STATUS, json!({ "id": campaign, "status": "ACTIVE" }), Some(&sponsor.access)).await;
        let page = server.data(by_slug, json!({ "slug": "bersih-pantai-kuta" }), Some(&user.access)).await;
        assert_eq!(page["campaign"]["goal"], json!({ "amount": "1000000.50", "currency": "IDR" }));
        assert_eq!(page["campaign"]["raised"]["amount"], "0.00");

        let challenge = server
            .data(
                CREATE_CHALLENGE,
                json!({ "input": { "campaignId": campaign, "title": "Collect plastic", "description": "A photo of the full bag", "actionType": "PHOTO", "rewardPerAction": { "amount": "10000" }, "quota": 2 } }),
                Some(&sponsor.access),
            )
            .await;
        assert_eq!(challenge["createChallenge"]["sponsor"]["id"], sponsor.user_id.as_str(), "the organizer sponsors by default");
        assert_eq!(challenge["createChallenge"]["rewardPerAction"], json!({ "amount": "10000.00", "currency": "IDR" }));
        let challenge = challenge["createChallenge"]["id"].as_str().unwrap().to_owned();

        // A DRAFT challenge cannot be joined (and is invisible to users).
        let early = server.gql(JOIN, json!({ "id": challenge }), Some(&user.access)).await;
        assert_eq!(error_code(&early), "NOT_FOUND");
        server.data(SET_CHALLENGE_STATUS, json!({ "id": challenge, "status": "ACTIVE" }), Some(&sponsor.access)).await;

        // Three users join; a double-click joins once.
        let mut people = vec![user.clone()];
        people.push(server.register("budi@example.id", "USER").await);
        people.push(server.register("citra@example.id", "USER").await);
        let mut participations = Vec::new();
        for person in &people {
            let joined = server.data(JOIN, json!({ "id": challenge }), Some(&person.access)).await;
            assert_eq!(joined["joinChallenge"]["status"], "JOINED");
            participations.push(joined["joinChallenge"]["id"].as_str().unwrap().to_owned());
        }
        let clicks = (0..4).map(|_| server.gql(JOIN, json!({ "id": challenge }), Some(&people[0].access)));
        for body in futures::future::join_all(clicks).await {
            assert_eq!(error_code(&body), "CONFLICT");
        }

        // Submissions: https only, own participation only.
        let insecure = server.gql(SUBMIT, json!({ "id": participations[0], "url": "http://img.example/a.jpg" }), Some(&people[0].access)).await;
        assert_eq!(insecure["errors"][0]["extensions"]["field"], "proofUrl");
        let not_mine = server.gql(SUBMIT, json!({ "id": participations[1], "url": "https://img.example/a.jpg" }), Some(&people[0].access)).await;
        assert_eq!(error_code(&not_mine), "FORBIDDEN");
        for (person, participation) in people.iter().zip(&participations) {
            let submitted = server.data(SUBMIT, json!({ "id": participation, "url": "https://img.example/proof.jpg" }), Some(&person.access)).await;
            assert_eq!(submitted["submitAction"]["status"], "SUBMITTED");
        }

        // Only the organizer (or an admin) reviews; only SUBMITTED actions.
        let self_review = server.gql(REVIEW, json!({ "id": participations[0], "ok": true }), Some(&people[0].access)).await;
        assert_eq!(error_code(&self_review), "FORBIDDEN");
        server.data(REVIEW, json!({ "id": participations[1], "ok": true }), Some(&sponsor.access)).await;
        server.data(REVIEW, json!({ "id": participations[0], "ok": true }), Some(&sponsor.access)).await;
        let rejected = server.data(REVIEW, json!({ "id": participations[2], "ok": false, "note": "blurry photo" }), Some(&sponsor.access)).await;
        assert_eq!(rejected["reviewAction"], json!({ "id": participations[2], "status": "REJECTED", "reviewNote": "blurry photo" }));
        let twice = server.gql(REVIEW, json!({ "id": participations[0], "ok": false }), Some(&sponsor.access)).await;
        assert_eq!(error_code(&twice), "BAD_USER_INPUT");

        // A rejected action can be resubmitted and approved: past the quota it is still recorded.
        server.data(SUBMIT, json!({ "id": participations[2], "url": "https://img.example/sharp.jpg" }), Some(&people[2].access)).await;
        server.data(REVIEW, json!({ "id": participations[2], "ok": true }), Some(&sponsor.access)).await;
        let counts = server
            .data("query($id: ID!) { challenge(id: $id) { approvedCount remainingQuota quota myParticipation { status } } }", json!({ "id": challenge }), Some(&people[2].access))
            .await;
        assert_eq!(counts["challenge"], json!({ "approvedCount": 3, "remainingQuota": 0, "quota": 2, "myParticipation": { "status": "APPROVED" } }));

        // The leaderboard ranks by approvals, ties by who got there first; counts follow events.
        let board = "query($id: ID!) { campaign(id: $id) { participantCount leaderboard(first: 10) { rank approvedActions user { id } } } }";
        let data = eventually(&server, board, json!({ "id": campaign }), None, |d| d["campaign"]["participantCount"] == 3).await;
        let ranks: Vec<(i64, String)> = data["campaign"]["leaderboard"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["rank"].as_i64().unwrap(), e["user"]["id"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(ranks, vec![(1, people[1].user_id.clone()), (2, people[0].user_id.clone()), (3, people[2].user_id.clone())]);

        let listed = server
            .data("query($id: ID!) { challenge(id: $id) { participants(status: APPROVED) { totalCount edges { node { user { id } } } } } }", json!({ "id": challenge }), None)
            .await;
        assert_eq!(listed["challenge"]["participants"]["totalCount"], 3);
        let mine = server
            .data("{ me { participations { totalCount edges { node { status challenge { title } } } } } }", json!({}), Some(&people[0].access))
            .await;
        assert_eq!(mine["me"]["participations"]["edges"][0]["node"], json!({ "status": "APPROVED", "challenge": { "title": "Collect plastic" } }));

        // Life cycle: legal transitions only, the error names both states.
        let back = server.gql(SET_CAMPAIGN_STATUS, json!({ "id": campaign, "status": "DRAFT" }), Some(&sponsor.access)).await;
        assert_eq!(error_code(&back), "BAD_USER_INPUT");
        let message = back["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("ACTIVE") && message.contains("DRAFT"), "{message}");
        for status in ["ENDED", "ARCHIVED"] {
            server.data(SET_CAMPAIGN_STATUS, json!({ "id": campaign, "status": status }), Some(&sponsor.access)).await;
        }
        let archived = server
            .gql(
                CREATE_CHALLENGE,
                json!({ "input": { "campaignId": campaign, "title": "Late", "description": "x", "actionType": "SHARE", "rewardPerAction": { "amount": "1" } } }),
                Some(&sponsor.access),
            )
            .await;
        assert_eq!(error_code(&archived), "BAD_USER_INPUT");
    }
}

on_both_backends! {
    async fn search_filters_and_pages(server: TestServer) {
        let sponsor = server.register("org@example.id", "SPONSOR").await;
        let other = server.register("org2@example.id", "SPONSOR").await;
        for (who, title) in [(&sponsor, "Tanam Pohon Bali"), (&sponsor, "Beach Day"), (&other, "Pohon untuk Jakarta"), (&other, "Draft only")] {
            let id = server
                .data(CREATE_CAMPAIGN, json!({ "input": { "title": title, "description": format!("About {title}") } }), Some(&who.access))
                .await["createCampaign"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            if title != "Draft only" {
                server.data(SET_CAMPAIGN_STATUS, json!({ "id": id, "status": "ACTIVE" }), Some(&who.access)).await;
            }
        }
        let list = "query($f: CampaignFilter, $first: Int, $after: String) { campaigns(filter: $f, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { title } } } }";
        let all = server.data(list, json!({}), None).await;
        assert_eq!(all["campaigns"]["totalCount"], 3, "drafts are not listed publicly");
        let search = server.data(list, json!({ "f": { "search": "POHON" } }), None).await;
        assert_eq!(search["campaigns"]["totalCount"], 2);
        let by_organizer = server.data(list, json!({ "f": { "organizerId": other.user_id } }), None).await;
        assert_eq!(by_organizer["campaigns"]["totalCount"], 1);
        let own_drafts = server.data(list, json!({ "f": { "organizerId": other.user_id, "status": "DRAFT" } }), Some(&other.access)).await;
        assert_eq!(own_drafts["campaigns"]["edges"][0]["node"]["title"], "Draft only");
        let others_drafts = server.gql(list, json!({ "f": { "status": "DRAFT" } }), Some(&sponsor.access)).await;
        assert_eq!(error_code(&others_drafts), "FORBIDDEN");

        let first = server.data(list, json!({ "first": 2 }), None).await;
        assert_eq!(first["campaigns"]["pageInfo"]["hasNextPage"], true);
        let rest = server.data(list, json!({ "first": 2, "after": first["campaigns"]["pageInfo"]["endCursor"] }), None).await;
        assert_eq!(rest["campaigns"]["edges"].as_array().unwrap().len(), 1);
        assert_eq!(rest["campaigns"]["pageInfo"]["hasNextPage"], false);
    }
}

on_both_backends! {
    async fn every_input_is_checked(server: TestServer) {
        let sponsor = server.register("check@example.id", "SPONSOR").await;
        let (campaign, challenge) = active_campaign_with_challenge(&server, &sponsor, "Checks", Some(10)).await;
        let campaign_input = |overrides: Value| {
            let mut input = json!({ "title": "Fine", "description": "Fine" });
            input.as_object_mut().unwrap().extend(overrides.as_object().unwrap().clone());
            json!({ "input": input })
        };
        for (overrides, field) in [
            (json!({ "title": "  " }), "title"),
            (json!({ "title": "x".repeat(201) }), "title"),
            (json!({ "description": "" }), "description"),
            (json!({ "goal": { "amount": "-5" } }), "goal.amount"),
            (json!({ "goal": { "amount": "12.345" } }), "goal.amount"),
            (json!({ "goal": { "amount": "10", "currency": "XYZ" } }), "goal.currency"),
            (json!({ "slug": "Not A Slug" }), "slug"),
            (json!({ "bannerUrl": "ftp://x" }), "bannerUrl"),
            (json!({ "startsAt": "2026-12-01T00:00:00Z", "endsAt": "2026-11-01T00:00:00Z" }), "endsAt"),
        ] {
            let body = server.gql(CREATE_CAMPAIGN, campaign_input(overrides.clone()), Some(&sponsor.access)).await;
            assert_eq!(error_code(&body), "BAD_USER_INPUT", "{overrides}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{overrides}: {body}");
        }
        let challenge_input = |overrides: Value| {
            let mut input = json!({ "campaignId": campaign, "title": "Fine", "description": "Fine", "actionType": "QUIZ", "rewardPerAction": { "amount": "1000" } });
            input.as_object_mut().unwrap().extend(overrides.as_object().unwrap().clone());
            json!({ "input": input })
        };
        for (overrides, field) in [
            (json!({ "quota": -1 }), "quota"),
            (json!({ "quota": 0 }), "quota"),
            (json!({ "quota": 2_000_000_000 }), "quota"),
            (json!({ "rewardPerAction": { "amount": "0" } }), "rewardPerAction.amount"),
            (json!({ "rewardPerAction": { "amount": "999999999999" } }), "rewardPerAction.amount"),
            (json!({ "rewardPerAction": { "amount": "10", "currency": "USD" } }), "rewardPerAction.currency"),
            (json!({ "campaignId": "not-an-id" }), "input.campaignId"),
            (json!({ "sponsorId": "01234567-89ab-7def-8123-456789abcdef" }), "input.sponsorId"),
            (json!({ "title": "" }), "title"),
        ] {
            let body = server.gql(CREATE_CHALLENGE, challenge_input(overrides.clone()), Some(&sponsor.access)).await;
            assert_eq!(error_code(&body), "BAD_USER_INPUT", "{overrides}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{overrides}: {body}");
        }
        let unknown = server
            .gql(CREATE_CHALLENGE, challenge_input(json!({ "campaignId": uuid::Uuid::now_v7().to_string() })), Some(&sponsor.access))
            .await;
        assert_eq!(error_code(&unknown), "NOT_FOUND");
        let unknown = server.gql("query($id: ID!) { challenge(id: $id) { id } }", json!({ "id": uuid::Uuid::now_v7().to_string() }), None).await;
        assert_eq!(error_code(&unknown), "NOT_FOUND");
        let malformed = server.gql(JOIN, json!({ "id": "42" }), Some(&sponsor.access)).await;
        assert_eq!(malformed["errors"][0]["extensions"]["field"], "challengeId");
        let update = server
            .gql(
                "mutation($id: ID!) { updateChallenge(id: $id, input: { quota: 0 }) { id } }",
                json!({ "id": challenge }),
                Some(&sponsor.access),
            )
            .await;
        assert_eq!(update["errors"][0]["extensions"]["field"], "quota");
    }
}

on_both_backends! {
    async fn each_role_gets_what_the_contract_says(server: TestServer) {
        let organizer = server.register("organizer@example.id", "SPONSOR").await;
        let other_sponsor = server.register("rival@example.id", "SPONSOR").await;
        let user = server.register("plain@example.id", "USER").await;
        let admin = server.admin("admin@example.id").await;
        let (campaign, challenge) = active_campaign_with_challenge(&server, &organizer, "Roles", None).await;

        let create = json!({ "input": { "title": "Mine", "description": "x" } });
        assert_eq!(error_code(&server.gql(CREATE_CAMPAIGN, create.clone(), None).await), "UNAUTHENTICATED");
        assert_eq!(error_code(&server.gql(CREATE_CAMPAIGN, create.clone(), Some(&user.access)).await), "FORBIDDEN");
        server.data(CREATE_CAMPAIGN, create.clone(), Some(&other_sponsor.access)).await;
        server.data(CREATE_CAMPAIGN, create, Some(&admin.access)).await;

        let update = "mutation($id: ID!) { updateCampaign(id: $id, input: { title: \"Renamed\" }) { title } }";
        for (who, expected) in [(None, "UNAUTHENTICATED"), (Some(&user), "FORBIDDEN"), (Some(&other_sponsor), "FORBIDDEN")] {
            let body = server.gql(update, json!({ "id": campaign }), who.map(|s: &Session| s.access.as_str())).await;
            assert_eq!(error_code(&body), expected);
        }
        server.data(update, json!({ "id": campaign }), Some(&organizer.access)).await;
        server.data(update, json!({ "id": campaign }), Some(&admin.access)).await;

        let add = json!({ "input": { "campaignId": campaign, "title": "More", "description": "x", "actionType": "SHARE", "rewardPerAction": { "amount": "5" } } });
        assert_eq!(error_code(&server.gql(CREATE_CHALLENGE, add.clone(), Some(&user.access)).await), "FORBIDDEN");
        assert_eq!(error_code(&server.gql(CREATE_CHALLENGE, add.clone(), Some(&other_sponsor.access)).await), "FORBIDDEN");
        server.data(CREATE_CHALLENGE, add.clone(), Some(&admin.access)).await;

        let joined = server.data(JOIN, json!({ "id": challenge }), Some(&user.access)).await["joinChallenge"]["id"].as_str().unwrap().to_owned();
        server.data(SUBMIT, json!({ "id": joined, "url": "https://p.example/1.jpg" }), Some(&user.access)).await;
        let rival_review = server.gql(REVIEW, json!({ "id": joined, "ok": true }), Some(&other_sponsor.access)).await;
        assert_eq!(error_code(&rival_review), "FORBIDDEN");
        server.data(REVIEW, json!({ "id": joined, "ok": false }), Some(&admin.access)).await;
        let anonymous_join = server.gql(JOIN, json!({ "id": challenge }), None).await;
        assert_eq!(error_code(&anonymous_join), "UNAUTHENTICATED");
        let other_submits = server.gql(SUBMIT, json!({ "id": joined, "url": "https://p.example/2.jpg" }), Some(&other_sponsor.access)).await;
        assert_eq!(error_code(&other_submits), "FORBIDDEN");
    }
}

on_both_backends! {
    async fn a_page_of_campaigns_costs_constant_messages(server: TestServer) {
        let sponsor = server.register("many@example.id", "SPONSOR").await;
        for i in 0..20 {
            active_campaign_with_challenge(&server, &sponsor, &format!("Campaign {i}"), Some(5)).await;
        }
        let page = |first: usize| {
            format!("{{ campaigns(first: {first}) {{ edges {{ node {{ title organizer {{ fullName }} raised {{ amount }} challenges(first: 5) {{ totalCount edges {{ node {{ title sponsor {{ id }} remainingQuota myParticipation {{ id }} }} }} }} leaderboard(first: 3) {{ rank }} }} }} }} }}")
        };
        let messages = |server: &TestServer| [Domain::Users, Domain::Campaigns, Domain::Challenges].map(|d| server.domains.stats(d).unwrap().messages());
        let cost = |before: [u64; 3], after: [u64; 3]| -> Vec<u64> { before.iter().zip(after).map(|(b, a)| a - b).collect() };
        // Warm up, then count what a page of 2 and a page of 20 cost.
        server.data(&page(20), json!({}), Some(&sponsor.access)).await;
        let before = messages(&server);
        server.data(&page(2), json!({}), Some(&sponsor.access)).await;
        let small = cost(before, messages(&server));
        let before = messages(&server);
        let data = server.data(&page(20), json!({}), Some(&sponsor.access)).await;
        let large = cost(before, messages(&server));
        assert_eq!(data["campaigns"]["edges"].as_array().unwrap().len(), 20);
        // Per domain a handful of batches (users: organizers and sponsors; challenges:
        // pages, leaderboards, the caller's participations), whatever the page size. On
        // a loaded machine a batch can split when its keys arrive more than the loader's
        // window apart, hence the slack; one message per row would be 20+ per domain.
        for (domain, (s, l)) in ["users", "campaigns", "challenges"].iter().zip(small.iter().zip(&large)) {
            assert!(*l <= 8, "{domain}: {l} messages for 20 campaigns ({small:?} for 2, {large:?} for 20)");
            assert!(*l <= s + 5, "{domain}: the cost grows with the page ({small:?} for 2, {large:?} for 20)");
        }
        assert_eq!(large[1], 1, "one campaigns message for the list");
    }
}
