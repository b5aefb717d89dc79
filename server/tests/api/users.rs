//! What admins do with accounts, and what users may see of each other.

use gerak_actors::users::SetSuspended;
use serde_json::json;

use crate::{campaigns::CREATE_CAMPAIGN, on_both_backends, support::error_code};

on_both_backends! {
    async fn admin_lists_and_changes_roles(server: TestServer) {
        let admin = server.admin("root@example.id").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let role = if i % 2 == 0 { "USER" } else { "SPONSOR" };
            ids.push(server.register(&format!("person{i}@example.id"), role).await.user_id);
        }
        let list = "query($first: Int, $after: String, $role: Role, $search: String) { users(first: $first, after: $after, role: $role, search: $search) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id email role } } } }";

        // Pages of two, newest first, covering everyone exactly once.
        let mut seen = Vec::new();
        let mut after = json!(null);
        loop {
            let page = server.data(list, json!({ "first": 2, "after": after }), Some(&admin.access)).await;
            let users = &page["users"];
            assert_eq!(users["totalCount"], 6);
            for edge in users["edges"].as_array().unwrap() {
                seen.push(edge["node"]["id"].as_str().unwrap().to_owned());
                assert!(edge["node"]["email"].is_string(), "admins see emails");
            }
            if !users["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = users["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(seen[0], *ids.last().unwrap(), "newest first");

        let sponsors = server.data(list, json!({ "role": "SPONSOR" }), Some(&admin.access)).await;
        assert_eq!(sponsors["users"]["totalCount"], 2);
        let search = server.data(list, json!({ "search": "PERSON3@" }), Some(&admin.access)).await;
        assert_eq!(search["users"]["totalCount"], 1);
        let wildcard = server.data(list, json!({ "search": "%" }), Some(&admin.access)).await;
        assert_eq!(wildcard["users"]["totalCount"], 0, "LIKE wildcards are matched literally");

        for (args, field) in [(json!({ "first": 0 }), "first"), (json!({ "first": 101 }), "first"), (json!({ "after": "bm9wZQ" }), "after")] {
            let body = server.gql(list, args, Some(&admin.access)).await;
            assert_eq!(error_code(&body), "BAD_USER_INPUT");
            assert_eq!(body["errors"][0]["extensions"]["field"], field);
        }

        let set_role = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id role } }";
        let changed = server.data(set_role, json!({ "id": ids[0], "role": "SPONSOR" }), Some(&admin.access)).await;
        assert_eq!(changed["setUserRole"]["role"], "SPONSOR");
        let own = server.gql(set_role, json!({ "id": admin.user_id, "role": "USER" }), Some(&admin.access)).await;
        assert_eq!(error_code(&own), "BAD_USER_INPUT");
        let missing = server.gql(set_role, json!({ "id": uuid::Uuid::now_v7().to_string(), "role": "USER" }), Some(&admin.access)).await;
        assert_eq!(error_code(&missing), "NOT_FOUND");
        let malformed = server.gql(set_role, json!({ "id": "42", "role": "USER" }), Some(&admin.access)).await;
        assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
        assert_eq!(malformed["errors"][0]["extensions"]["field"], "userId");
    }
}

on_both_backends! {
    async fn profiles_hide_emails_and_suspension_locks_out(server: TestServer) {
        let gita = server.register("gita@example.id", "USER").await;
        let hadi = server.register("hadi@example.id", "USER").await;
        let query = "query($id: ID!) { user(id: $id) { id email fullName suspended } }";
        let seen = server.data(query, json!({ "id": hadi.user_id }), Some(&gita.access)).await;
        assert_eq!(seen["user"]["email"], json!(null), "another user's email is hidden");
        let own = server.data(query, json!({ "id": gita.user_id }), Some(&gita.access)).await;
        assert_eq!(own["user"]["email"], "gita@example.id");
        let unknown = server.data(query, json!({ "id": uuid::Uuid::now_v7().to_string() }), None).await;
        assert_eq!(unknown["user"], json!(null));
        let malformed = server.gql(query, json!({ "id": "x'; DROP TABLE users; --" }), None).await;
        assert_eq!(error_code(&malformed), "BAD_USER_INPUT");

        server
            .domains
            .users
            .send(SetSuspended { user_id: hadi.user_id.clone(), suspended: true })
            .await
            .unwrap();
        let login = server
            .gql("mutation { login(email: \"hadi@example.id\", password: \"correct horse battery\") { accessToken } }", json!({}), None)
            .await;
        assert_eq!(error_code(&login), "FORBIDDEN");
        let refresh = server
            .gql("mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", json!({ "t": hadi.refresh }), None)
            .await;
        assert_eq!(error_code(&refresh), "UNAUTHENTICATED", "suspension revokes sessions");
        let act = server
            .gql("mutation { updateProfile(fullName: \"still here\") { id } }", json!({}), Some(&hadi.access))
            .await;
        assert_eq!(error_code(&act), "FORBIDDEN", "a suspended account cannot act");
    }
}

on_both_backends! {
    async fn role_changes_and_suspension_apply_to_the_very_next_mutation(server: TestServer) {
        // Mutations check the account through a short-lived cache: a change made here must
        // reach the next mutation at once, even right after the account was cached.
        let admin = server.admin("warden@example.id").await;
        let sponsor = server.register("patron@example.id", "SPONSOR").await;
        let create = |title: &str| json!({ "input": { "title": title, "description": "Plant mangroves", "goal": { "amount": "100000" } } });
        let set_role = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { role } }";

        server.data(CREATE_CAMPAIGN, create("First"), Some(&sponsor.access)).await;
        server.data(set_role, json!({ "id": sponsor.user_id, "role": "USER" }), Some(&admin.access)).await;
        let demoted = server.gql(CREATE_CAMPAIGN, create("Second"), Some(&sponsor.access)).await;
        assert_eq!(error_code(&demoted), "FORBIDDEN", "the old role was used: {demoted}");

        server.data(set_role, json!({ "id": sponsor.user_id, "role": "SPONSOR" }), Some(&admin.access)).await;
        server.data(CREATE_CAMPAIGN, create("Third"), Some(&sponsor.access)).await;
        server
            .domains
            .users
            .send(SetSuspended { user_id: sponsor.user_id.clone(), suspended: true })
            .await
            .unwrap();
        let suspended = server.gql(CREATE_CAMPAIGN, create("Fourth"), Some(&sponsor.access)).await;
        assert_eq!(error_code(&suspended), "FORBIDDEN", "a suspended account acted: {suspended}");
    }
}
