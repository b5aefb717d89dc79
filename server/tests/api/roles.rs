//! Every guarded field of campaigns, challenges and reports, asked by every role.

use serde_json::{Value, json};

use crate::{
    campaigns::active_campaign_with_challenge,
    on_both_backends,
    support::{Session, error_code},
};

/// What a role gets: the field answers, or an error with this code.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Ok,
    Err(&'static str),
}
use Outcome::{Err as E, Ok as O};

on_both_backends! {
    async fn each_guarded_field_for_each_role(server: TestServer) {
        let organizer = server.register("matrix-org@example.id", "SPONSOR").await;
        let sponsor = server.register("matrix-sponsor@example.id", "SPONSOR").await;
        let user = server.register("matrix-user@example.id", "USER").await;
        let admin = server.admin("matrix-admin@example.id").await;
        let (campaign, challenge) = active_campaign_with_challenge(&server, &organizer, "Matrix", None).await;
        let report = server
            .data(
                "mutation($id: ID!) { reportContent(input: { targetType: CHALLENGE, targetId: $id, reason: SPAM }) { id } }",
                json!({ "id": challenge }),
                Some(&user.access),
            )
            .await["reportContent"]["id"]
            .clone();

        // Roles in order: anonymous, USER, another SPONSOR, the organizer, ADMIN.
        let cases: Vec<(&str, Value, [Outcome; 5])> = vec![
            ("mutation { createCampaign(input: { title: \"T\", description: \"D\" }) { id } }", json!({}),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), O, O, O]),
            ("mutation($id: ID!) { updateCampaign(id: $id, input: { title: \"Matrix\" }) { id } }", json!({ "id": campaign }),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), E("FORBIDDEN"), O, O]),
            ("mutation($id: ID!) { setCampaignStatus(id: $id, status: ACTIVE) { id } }", json!({ "id": campaign }),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), E("FORBIDDEN"), O, O]),
            ("mutation($id: ID!) { createChallenge(input: { campaignId: $id, title: \"C\", description: \"D\", actionType: SHARE, rewardPerAction: { amount: \"1\" } }) { id } }", json!({ "id": campaign }),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), E("FORBIDDEN"), O, O]),
            ("mutation($id: ID!) { updateChallenge(id: $id, input: { title: \"Renamed\" }) { id } }", json!({ "id": challenge }),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), E("FORBIDDEN"), O, O]),
            ("mutation($id: ID!) { setChallengeStatus(id: $id, status: ACTIVE) { id } }", json!({ "id": challenge }),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), E("FORBIDDEN"), O, O]),
            ("{ reports { totalCount } }", json!({}),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), E("FORBIDDEN"), E("FORBIDDEN"), O]),
            ("query($id: ID!) { challengeReport(challengeId: $id) { participants } }", json!({ "id": challenge }),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), E("FORBIDDEN"), E("FORBIDDEN"), O]),
            ("{ dashboard { users } }", json!({}),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), E("FORBIDDEN"), E("FORBIDDEN"), O]),
            ("{ users { totalCount } }", json!({}),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), E("FORBIDDEN"), E("FORBIDDEN"), O]),
            ("query($id: ID!) { donations(campaignId: $id) { totalCount } }", json!({ "id": campaign }),
                [E("UNAUTHENTICATED"), O, O, O, O]),
            ("query($id: ID!) { accountStatement(ownerType: CAMPAIGN, ownerId: $id) { closingBalance { amount } } }", json!({ "id": campaign }),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), E("FORBIDDEN"), O, O]),
            ("query($id: ID!) { campaign(id: $id) { id } }", json!({ "id": campaign }),
                [O, O, O, O, O]),
            // Last, as it changes state: only an admin resolves.
            ("mutation($id: ID!) { resolveReport(id: $id, action: DISMISS) { status } }", json!({ "id": report }),
                [E("UNAUTHENTICATED"), E("FORBIDDEN"), E("FORBIDDEN"), E("FORBIDDEN"), O]),
        ];
        let roles: [Option<&Session>; 5] = [None, Some(&user), Some(&sponsor), Some(&organizer), Some(&admin)];
        let names = ["anonymous", "USER", "SPONSOR", "organizer", "ADMIN"];
        for (query, vars, expected) in cases {
            for ((role, name), want) in roles.iter().zip(names).zip(expected) {
                let body = server.gql(query, vars.clone(), role.map(|s| s.access.as_str())).await;
                match want {
                    O => assert!(body.get("errors").is_none(), "{name} on {query}: {body}"),
                    E(code) => assert_eq!(error_code(&body), code, "{name} on {query}: {body}"),
                }
            }
        }

        // Emails: one's own and admins' view only.
        let email = "query($id: ID!) { user(id: $id) { email } }";
        for (role, visible) in [(None, false), (Some(&sponsor), false), (Some(&user), true), (Some(&admin), true)] {
            let data = server.data(email, json!({ "id": user.user_id }), role.map(|s: &Session| s.access.as_str())).await;
            assert_eq!(data["user"]["email"].is_string(), visible, "{role:?}");
        }
    }
}
