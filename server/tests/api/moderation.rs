//! Reports, auto-hiding, appeals, resolutions, and the admin's projections.

use serde_json::json;

use crate::{
    campaigns::{JOIN, REVIEW, SUBMIT, active_campaign_with_challenge, eventually},
    on_both_backends,
    support::error_code,
};

const REPORT: &str = "mutation($input: ReportInput!) { reportContent(input: $input) { id status targetType targetId reason reporter { id } } }";
const RESOLVE: &str = "mutation($id: ID!, $action: ModerationAction!) { resolveReport(id: $id, action: $action) { id status resolution handledBy { id } } }";
const CHALLENGE: &str = "query($id: ID!) { challenge(id: $id) { id hidden } }";

on_both_backends! {
    async fn reports_hide_content_owners_appeal_admins_decide(server: TestServer) {
        let sponsor = server.register("owner@example.id", "SPONSOR").await;
        let admin = server.admin("mod1@example.id").await;
        let other_admin = server.admin("mod2@example.id").await;
        let (_, challenge) = active_campaign_with_challenge(&server, &sponsor, "Moderated", Some(3)).await;
        let mut reporters = Vec::new();
        for i in 0..3 {
            reporters.push(server.register(&format!("reporter{i}@example.id"), "USER").await);
        }
        let input = |note: &str| json!({ "input": { "targetType": "CHALLENGE", "targetId": challenge, "reason": "SPAM", "note": note } });

        // Input rules: the target must exist; one open report each; notes up to 1,000 characters.
        let missing = server
            .gql(REPORT, json!({ "input": { "targetType": "CHALLENGE", "targetId": uuid::Uuid::now_v7().to_string(), "reason": "SPAM" } }), Some(&reporters[0].access))
            .await;
        assert_eq!(error_code(&missing), "NOT_FOUND");
        let long = server.gql(REPORT, input(&"x".repeat(1001)), Some(&reporters[0].access)).await;
        assert_eq!(long["errors"][0]["extensions"]["field"], "input.note");
        let first = server.data(REPORT, input("spam link"), Some(&reporters[0].access)).await;
        assert_eq!(first["reportContent"]["status"], "OPEN");
        let again = server.gql(REPORT, input("again"), Some(&reporters[0].access)).await;
        assert_eq!(error_code(&again), "CONFLICT");

        // Two reporters: still visible. Three: hidden for everyone but admins.
        server.data(REPORT, input("spam"), Some(&reporters[1].access)).await;
        assert_eq!(server.data(CHALLENGE, json!({ "id": challenge }), None).await["challenge"]["hidden"], false);
        server.data(REPORT, input("spam"), Some(&reporters[2].access)).await;
        let started = std::time::Instant::now();
        loop {
            let body = server.gql(CHALLENGE, json!({ "id": challenge }), Some(&reporters[0].access)).await;
            if body.get("errors").is_some() {
                assert_eq!(error_code(&body), "NOT_FOUND");
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "not hidden: {body}");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let seen = server.data(CHALLENGE, json!({ "id": challenge }), Some(&admin.access)).await;
        assert_eq!(seen["challenge"]["hidden"], true, "admins still see it");

        // Only the owner may appeal; the appeal lands in the admin queue.
        let stranger = server
            .gql("mutation($id: ID!) { appealModeration(targetType: CHALLENGE, targetId: $id, note: \"mine\") { id } }", json!({ "id": challenge }), Some(&reporters[0].access))
            .await;
        assert_eq!(error_code(&stranger), "FORBIDDEN");
        let appeal = server
            .data(
                "mutation($id: ID!) { appealModeration(targetType: CHALLENGE, targetId: $id, note: \"It is a real clean-up\") { id status isAppeal } }",
                json!({ "id": challenge }),
                Some(&sponsor.access),
            )
            .await;
        assert_eq!(appeal["appealModeration"]["isAppeal"], true);
        let appeal_id = appeal["appealModeration"]["id"].as_str().unwrap().to_owned();
        let queue = server
            .data("{ reports(status: OPEN, targetType: CHALLENGE) { totalCount edges { node { id isAppeal } } } }", json!({}), Some(&admin.access))
            .await;
        assert_eq!(queue["reports"]["totalCount"], 4);
        assert_eq!(error_code(&server.gql("{ reports { totalCount } }", json!({}), Some(&sponsor.access)).await), "FORBIDDEN");

        // RESTORE_CONTENT on the appeal unhides it and closes every open report on it.
        let restored = server.data(RESOLVE, json!({ "id": appeal_id, "action": "RESTORE_CONTENT" }), Some(&admin.access)).await;
        assert_eq!(restored["resolveReport"]["status"], "RESOLVED");
        assert_eq!(restored["resolveReport"]["handledBy"]["id"], admin.user_id.as_str());
        // Restoring reaches the challenges domain by event: until then it is still NOT_FOUND.
        let started = std::time::Instant::now();
        loop {
            let body = server.gql(CHALLENGE, json!({ "id": challenge }), Some(&reporters[0].access)).await;
            if body["data"]["challenge"]["hidden"] == false {
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "not restored: {body}");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let open = server.data("{ reports(status: OPEN) { totalCount } }", json!({}), Some(&admin.access)).await;
        assert_eq!(open["reports"]["totalCount"], 0);
        let twice = server.gql(RESOLVE, json!({ "id": appeal_id, "action": "DISMISS" }), Some(&admin.access)).await;
        assert_eq!(error_code(&twice), "BAD_USER_INPUT");

        // A reported user is queued, not auto-suspended; another admin suspends them.
        let troll = server.register("troll@example.id", "USER").await;
        let mut last = None;
        for reporter in &reporters {
            let filed = server
                .data(REPORT, json!({ "input": { "targetType": "USER", "targetId": troll.user_id, "reason": "FRAUD" } }), Some(&reporter.access))
                .await;
            last = Some(filed["reportContent"]["id"].as_str().unwrap().to_owned());
        }
        let me = server.data("{ me { suspended } }", json!({}), Some(&troll.access)).await;
        assert_eq!(me["me"]["suspended"], false);
        let hide_user = server.gql(RESOLVE, json!({ "id": last, "action": "HIDE_CONTENT" }), Some(&other_admin.access)).await;
        assert_eq!(hide_user["errors"][0]["extensions"]["field"], "action");
        server.data(RESOLVE, json!({ "id": last, "action": "SUSPEND_USER" }), Some(&other_admin.access)).await;
        let started = std::time::Instant::now();
        loop {
            let login = server
                .gql("mutation { login(email: \"troll@example.id\", password: \"correct horse battery\") { accessToken } }", json!({}), None)
                .await;
            if login.get("errors").is_some() {
                assert_eq!(error_code(&login), "FORBIDDEN");
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "not suspended: {login}");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let act = server.gql("mutation($id: ID!) { joinChallenge(challengeId: $id) { id } }", json!({ "id": challenge }), Some(&troll.access)).await;
        assert_eq!(error_code(&act), "FORBIDDEN");
    }
}

on_both_backends! {
    async fn dashboard_and_challenge_report_follow_events(server: TestServer) {
        let admin = server.admin("dash@example.id").await;
        let sponsor = server.register("dash-sponsor@example.id", "SPONSOR").await;
        let (_, challenge) = active_campaign_with_challenge(&server, &sponsor, "Dash", None).await;
        let mut participations = Vec::new();
        for i in 0..3 {
            let user = server.register(&format!("dash{i}@example.id"), "USER").await;
            let joined = server.data(JOIN, json!({ "id": challenge }), Some(&user.access)).await["joinChallenge"]["id"].as_str().unwrap().to_owned();
            if i > 0 {
                server.data(SUBMIT, json!({ "id": joined, "url": "https://p.example/x.jpg" }), Some(&user.access)).await;
            }
            participations.push(joined);
        }
        server.data(REVIEW, json!({ "id": participations[1], "ok": true }), Some(&sponsor.access)).await;
        server
            .data(REPORT, json!({ "input": { "targetType": "CHALLENGE", "targetId": challenge, "reason": "OTHER" } }), Some(&admin.access))
            .await;

        let report = "query($id: ID!) { challengeReport(challengeId: $id) { challenge { id } participants submitted approved rejected donated { amount currency } openReports } }";
        // The approval's sponsor match (25,000) shows as donated once its event is applied.
        let data = eventually(&server, report, json!({ "id": challenge }), Some(&admin.access), |d| {
            d["challengeReport"]["approved"] == 1 && d["challengeReport"]["donated"]["amount"] == "25000.00"
        })
        .await;
        assert_eq!(
            data["challengeReport"],
            json!({ "challenge": { "id": challenge }, "participants": 3, "submitted": 1, "approved": 1, "rejected": 0, "donated": { "amount": "25000.00", "currency": "IDR" }, "openReports": 1 })
        );
        let dashboard = "{ dashboard { users sponsors activeCampaigns raised { amount currency } pendingReviews openReports } }";
        let data = eventually(&server, dashboard, json!({}), Some(&admin.access), |d| d["dashboard"]["users"] == 5).await;
        assert_eq!(data["dashboard"]["sponsors"], 1);
        assert_eq!(data["dashboard"]["activeCampaigns"], 1);
        assert_eq!(data["dashboard"]["pendingReviews"], 1);
        assert_eq!(data["dashboard"]["openReports"], 1);
        assert_eq!(data["dashboard"]["raised"], json!([{ "amount": "25000.00", "currency": "IDR" }]));
        assert_eq!(error_code(&server.gql(dashboard, json!({}), Some(&sponsor.access)).await), "FORBIDDEN");
    }
}
