//! An attacker's view: other people's objects, forged and stale credentials, inputs that
//! try to set what they must not, and inputs made to break things. Everything here is
//! refused with a code, and no error tells the attacker anything about the insides.

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use gerak_actors::{Domain, users::SetSuspended};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::{
    on_both_backends,
    support::{JWT_SECRET, error_code},
};

const ME: &str = "{ me { id email role } }";
const UPDATE: &str = "mutation { updateProfile(fullName: \"Taken Over\") { id fullName } }";

/// A 2048-bit RSA key made for this test only (PKCS#1 DER): it signs nothing real.
const TEST_RSA_KEY: &[&str] = &[
    "MIIEpQIBAAKCAQEAqK/2sUI9Y7W1z1SNt9AkXqTOAJPc8agbJQAqiVN/74rMxDZ+faq4mZ1FeWxXRN7LKOkDiAPk60lH25jZCLbC",
    "hacxRG5RYBSYyJpvtxk+KB+WCphyHO7dXSaiDURgDqVbaGjOB48rMzMRXUSxkU5Y2h7V0DIvkbraFVp90zsyvbl5q9NFK+tbMfrs",
    "E10//1IBBUVpEmh97GpT/7iTyn9wc+07g9i/FxzsaGxSefSonV08dgkqbooPlq/d3eLztGOLtMwWSVPnEgrjKGi/gb/yQlds3EEE",
    "QSwOwkXrmVHpamqKo3ILGwiwxjYZChxjumST8F26CwmfzHyT2SYommWKvwIDAQABAoIBACOy9ZzG3XIUGxFxHfrYGFJVQ2l44Wnc",
    "/z2h3t6oJqudrr8Zn0ReFGoiD/ll9cQT+F/EjGRFGrW2kPgGzWucLeeWHgWS6TLRuRG/KURRGcfpA1pjr8aywHM9wU7YeRGwaftb",
    "LrsH0AcqWBLqfj+3mnMy0mIYtNt89TlOqNFCtnbTCMQsGb++wcWUL9M1EbRlhLz+zM75/yBsfROtov0mbJfSR4hy7ALzIjJACLsY",
    "7z6/K8aTI3ErTIt9b/Hv/Aij/iF3AYGc62OjJpiXErew11BmcAVBw+7m40QomkOkLTIruzacfq6O13EQVgfAxwLRqYfJUvN2WOYD",
    "5gAwBniBDdECgYEA6SLI4G1f3nEgad358LGKv37pFrUzEGZ2xORXsmhPvPTdOaYBMaDliuYdi1oeviN3opnCMkKOhNQBM0otjyTK",
    "yQHDHIIOFtj2GAEighe6XDpJF+29mGTc7Nh+IY3N4OASE331Lyt+kd9mxsc7kWX6Q831ObRyVwQ+YdrSA6EVCc8CgYEAuTsa6ijv",
    "ce5OewVtaGXVfAIN/Zd5Z+eB/2HpLb9MUx1UvMsbswtOZ33Rd+kRgCDeDScBTN5rKVNo89jvi2cqHEaTH5ZCbSQAcIfS5p7wbJSB",
    "dqs9HxUZBTqeXxZCX3OdvVNlyBCf6Pz7UqppT9madCMheLECkpjrxZbkEOHO3BECgYEAiLUrEd9RHkE7/ph53dheQhiLWhN7FBzh",
    "fGdhvW5Jg8Yai5l6jb2JnL9/h52a9Wga2TBMnehFZkJjSc4vlQbAGsp7vRXOaTtkY4MW1y5Oy5IqFmwEh35txjzVCZv7o+gA8Ykk",
    "4zogCC32OI3Psl0YOfZl3Cah/cCxS/RivloQ2iUCgYEAnbmLgIqc4Zm3cB+9+uCDuZWSTja2ZViHpGu9/3teRYO7TQtyKbJd79f+",
    "DqoCgeT6z55ACDF4dHcW7lTyHPUasXsS+hmbtI2sZiXx2vjJ5ttJpj/HyvjPFlnE01kD6X1sevNRvtsRH3aTlt+OzzSOxYfIj5nC",
    "hAv874I973YoC9ECgYEAqDzWn9/vkkB8n8iOepbhW9OJd+Gdgjj15/YL3m0YXRaSXKQZYvosWrBWF535ja6NMMvVoJ2dg4vVOvxq",
    "jJMMNzIYY4isd/nSw+AOa7SQC5iIQBNUkKT67pAzRYTLvyNCOm/9Bql+6XxysKBuIQIZ6MaEcJkLs/f8PS2gvSW7qrc=",
];

fn claims(sub: &str, role: &str, exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": sub, "role": role, "iat": now, "exp": now + exp_offset, "jti": uuid::Uuid::now_v7().to_string() })
}

fn hs256(secret: &str, claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Header and claims as given, HMAC-signed with our own secret.
fn hmac_signed_with_header(header: &Value, claims: &Value) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{signature}")
}

/// The code of every error, for checks that do not care which field failed.
fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("NONE")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

on_both_backends! {
    async fn nobody_reads_or_changes_what_is_not_theirs(server: TestServer) {
        let admin = server.admin("boss@example.id").await;
        let alice = server.register("alice@example.id", "USER").await;
        let bob = server.register("bob@example.id", "USER").await;
        let sponsor = server.register("sponsor@example.id", "SPONSOR").await;
        let user = "query($id: ID!) { user(id: $id) { id email fullName } }";

        // user(id): the profile yes, the email only for its owner and admins.
        for (viewer, sees_email) in [(None, false), (Some(&alice.access), false), (Some(&sponsor.access), false), (Some(&bob.access), true), (Some(&admin.access), true)] {
            let data = server.data(user, json!({ "id": bob.user_id }), viewer.map(String::as_str)).await;
            assert_eq!(data["user"]["id"], bob.user_id.as_str());
            assert_eq!(data["user"]["email"].is_string(), sees_email, "{data}");
        }
        // Not through aliases or fragments either.
        let data = server
            .data(
                "query($id: ID!) { a: user(id: $id) { ...F } b: user(id: $id) { ... on User { email } } } fragment F on User { email }",
                json!({ "id": bob.user_id }),
                Some(&alice.access),
            )
            .await;
        assert_eq!((data["a"]["email"].clone(), data["b"]["email"].clone()), (json!(null), json!(null)));

        // users: admins only.
        let users = "{ users { totalCount edges { node { email } } } }";
        assert_eq!(error_code(&server.gql(users, json!({}), None).await), "UNAUTHENTICATED");
        for token in [&alice.access, &sponsor.access] {
            let body = server.gql(users, json!({}), Some(token)).await;
            assert_eq!(error_code(&body), "FORBIDDEN");
            assert_eq!(body["data"]["users"], json!(null), "nothing leaks beside the error");
        }
        assert_eq!(server.data(users, json!({}), Some(&admin.access)).await["users"]["totalCount"], 4);

        // setUserRole: admins only, on others and on oneself.
        let set_role = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { role } }";
        for (token, target) in [(&alice.access, &bob.user_id), (&alice.access, &alice.user_id), (&sponsor.access, &sponsor.user_id)] {
            let body = server.gql(set_role, json!({ "id": target, "role": "ADMIN" }), Some(token)).await;
            assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
        }
        let body = server.gql(set_role, json!({ "id": bob.user_id, "role": "ADMIN" }), None).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
        let data = server.data("query($id: ID!) { user(id: $id) { role } }", json!({ "id": bob.user_id }), None).await;
        assert_eq!(data["user"]["role"], "USER");
        let data = server.data("query($id: ID!) { user(id: $id) { role } }", json!({ "id": alice.user_id }), None).await;
        assert_eq!(data["user"]["role"], "USER");
    }
}

on_both_backends! {
    async fn forged_stale_and_orphaned_tokens_are_refused(server: TestServer) {
        let victim = server.register("victim@example.id", "USER").await;
        let sub = victim.user_id.as_str();
        let assert_refused = |body: Value, what: &str| {
            assert_eq!(error_code(&body), "UNAUTHENTICATED", "{what}: {body}");
            assert!(body["data"]["me"].is_null() && body["data"]["updateProfile"].is_null(), "{what}: {body}");
        };

        let rsa = EncodingKey::from_rsa_der(&STANDARD.decode(TEST_RSA_KEY.concat()).unwrap());
        let forged = [
            ("expired", hs256(JWT_SECRET, &claims(sub, "ADMIN", -120))),
            ("another secret", hs256("an attacker's secret of 32 bytes or more", &claims(sub, "ADMIN", 600))),
            ("alg none", format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
                URL_SAFE_NO_PAD.encode(claims(sub, "ADMIN", 600).to_string())
            )),
            ("RS256 signed", encode(&Header::new(Algorithm::RS256), &claims(sub, "ADMIN", 600), &rsa).unwrap()),
            ("RS256 header, HMAC with our secret", hmac_signed_with_header(&json!({ "alg": "RS256", "typ": "JWT" }), &claims(sub, "ADMIN", 600))),
            ("HS512 with our secret", encode(&Header::new(Algorithm::HS512), &claims(sub, "ADMIN", 600), &EncodingKey::from_secret(JWT_SECRET.as_bytes())).unwrap()),
            ("tampered claims", {
                let real = victim.access.split('.').collect::<Vec<_>>();
                format!("{}.{}.{}", real[0], URL_SAFE_NO_PAD.encode(claims(sub, "ADMIN", 600).to_string()), real[2])
            }),
            ("garbage", "eyJ.not.a-token".to_owned()),
        ];
        for (what, token) in &forged {
            assert_refused(server.gql(ME, json!({}), Some(token)).await, what);
            assert_refused(server.gql(UPDATE, json!({}), Some(token)).await, what);
        }
        let raw = server
            .http
            .post(server.url("/graphql"))
            .header("authorization", format!("Basic {}", STANDARD.encode("victim:pw")))
            .json(&json!({ "query": ME }))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(&raw.json().await.unwrap()), "UNAUTHENTICATED");

        // Signed with our secret, for an account that does not exist.
        let orphan = hs256(JWT_SECRET, &claims(&uuid::Uuid::now_v7().to_string(), "ADMIN", 600));
        assert_refused(server.gql(ME, json!({}), Some(&orphan)).await, "no such account");
        assert_refused(server.gql(UPDATE, json!({}), Some(&orphan)).await, "no such account");
        let body = server.gql("mutation($id: ID!) { setUserRole(userId: $id, role: ADMIN) { role } }", json!({ "id": sub }), Some(&orphan)).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");

        // A replayed refresh token: refused, and the session it belonged to is over.
        let refresh = "mutation($t: String!) { refreshToken(refreshToken: $t) { refreshToken } }";
        let rotated = server.data(refresh, json!({ "t": victim.refresh }), None).await;
        let replayed = server.gql(refresh, json!({ "t": victim.refresh }), None).await;
        assert_eq!(error_code(&replayed), "UNAUTHENTICATED");
        let next = rotated["refreshToken"]["refreshToken"].as_str().unwrap();
        assert_eq!(error_code(&server.gql(refresh, json!({ "t": next }), None).await), "UNAUTHENTICATED");

        // A suspended account's still-valid access token cannot act.
        server.domains.users.send(SetSuspended { user_id: victim.user_id.clone(), suspended: true }).await.unwrap();
        for mutation in [UPDATE, "mutation { changePassword(currentPassword: \"correct horse battery\", newPassword: \"another long one\") }"] {
            let body = server.gql(mutation, json!({}), Some(&victim.access)).await;
            assert_eq!(error_code(&body), "FORBIDDEN", "{mutation}: {body}");
        }
    }
}

on_both_backends! {
    async fn no_input_sets_a_role_a_suspension_or_someone_else(server: TestServer) {
        let register = "mutation($input: RegisterInput!) { register(input: $input) { user { id role suspended } } }";
        let input = |email: &str| json!({ "email": email, "password": "long enough pw", "fullName": "Mallory" });

        for role in ["ADMIN", "SERVICE"] {
            let mut body = input("mallory@example.id");
            body["role"] = json!(role);
            assert_eq!(error_code(&server.gql(register, json!({ "input": body }), None).await), "FORBIDDEN", "{role}");
        }
        // Fields the input does not have are refused, not ignored.
        for (field, value) in [("suspended", json!(false)), ("id", json!(uuid::Uuid::now_v7().to_string())), ("emailKey", json!("x")), ("passwordHash", json!("x"))] {
            let mut body = input("mallory@example.id");
            body[field] = value;
            let response = server.gql(register, json!({ "input": body }), None).await;
            assert_eq!(error_code(&response), "BAD_USER_INPUT", "{field}: {response}");
        }
        let inline = server
            .gql("mutation { register(input: { email: \"m@example.id\", password: \"long enough pw\", fullName: \"M\", suspended: false }) { user { id } } }", json!({}), None)
            .await;
        assert_eq!(error_code(&inline), "BAD_USER_INPUT");
        // None of that made an account.
        let login = server.gql("mutation { login(email: \"mallory@example.id\", password: \"long enough pw\") { accessToken } }", json!({}), None).await;
        assert_eq!(error_code(&login), "UNAUTHENTICATED");

        let mallory = server.register("mallory@example.id", "USER").await;
        let victim = server.register("target@example.id", "USER").await;
        for mutation in [
            "mutation($id: ID!) { updateProfile(userId: $id, fullName: \"pwned\") { id } }",
            "mutation($id: ID!) { updateProfile(id: $id, fullName: \"pwned\") { id } }",
            "mutation { updateProfile(role: ADMIN) { id } }",
            "mutation { updateProfile(suspended: false) { id } }",
        ] {
            let body = server.gql(mutation, json!({ "id": victim.user_id }), Some(&mallory.access)).await;
            assert_eq!(error_code(&body), "BAD_USER_INPUT", "{mutation}: {body}");
        }
        // updateProfile acts on the caller, whoever else is named anywhere.
        let data = server.data("mutation { updateProfile(fullName: \"Still Mallory\") { id fullName role } }", json!({}), Some(&mallory.access)).await;
        assert_eq!(data["updateProfile"]["id"], mallory.user_id.as_str());
        assert_eq!(data["updateProfile"]["role"], "USER");
        let target = server.data("query($id: ID!) { user(id: $id) { fullName } }", json!({ "id": victim.user_id }), None).await;
        assert_eq!(target["user"]["fullName"], "Test Person");
    }
}

/// What an error must never show.
const LEAKS: &[&str] = &[
    "select ",
    "insert ",
    "update ",
    "delete ",
    "sqlx",
    "sqlite",
    "postgres",
    "sqlstate",
    "syntax error",
    "constraint",
    "database error",
    ".rs:",
    "/src/",
    "panicked",
    "backtrace",
    "/root",
    "/home",
    "/tmp",
    "/work",
    "invalid byte sequence",
    "gerak_",
];

fn assert_nothing_leaks(body: &Value, what: &str) {
    let text = body.to_string().to_lowercase();
    for leak in LEAKS {
        assert!(!text.contains(leak), "{what} leaks {leak:?}: {body}");
    }
    assert!(
        !codes(body).iter().any(|c| c == "INTERNAL"),
        "{what} is an internal error: {body}"
    );
}

on_both_backends! {
    async fn hostile_input_gets_a_clear_answer_and_no_internals(server: TestServer) {
        let admin = server.admin("root@example.id").await;
        let user = server.register("plain@example.id", "USER").await;
        let long = "x".repeat(20_000);
        let payloads = [
            "'", "\"", "' OR '1'='1", "\"; DROP TABLE users; --", "\u{0}", "a\u{0}b@example.id",
            "%", "_", "\\", "%00", "${jndi:ldap://x}", "<script>alert(1)</script>", "😀", long.as_str(),
        ];
        for payload in payloads {
            let short = payload.chars().take(30).collect::<String>();
            let checks: [(&str, Value, Option<&str>); 11] = [
                ("mutation($v: String!) { register(input: { email: $v, password: \"long enough pw\", fullName: \"X\" }) { user { id } } }", json!({ "v": payload }), None),
                ("mutation($v: String!) { register(input: { email: \"ok@example.id\", password: \"long enough pw\", fullName: $v }) { user { id } } }", json!({ "v": payload }), None),
                ("mutation($v: String!) { login(email: $v, password: $v) { accessToken } }", json!({ "v": payload }), None),
                ("query($v: String!) { users(search: $v) { totalCount } }", json!({ "v": payload }), Some(&admin.access)),
                ("query($v: String!) { users(after: $v) { totalCount } }", json!({ "v": payload }), Some(&admin.access)),
                ("query($v: ID!) { user(id: $v) { id } }", json!({ "v": payload }), None),
                ("mutation($v: ID!) { setUserRole(userId: $v, role: SPONSOR) { id } }", json!({ "v": payload }), Some(&admin.access)),
                ("mutation($v: String!) { refreshToken(refreshToken: $v) { accessToken } }", json!({ "v": payload }), None),
                ("mutation($v: String!) { logout(refreshToken: $v) }", json!({ "v": payload }), None),
                ("mutation($v: String!) { updateProfile(fullName: $v, avatarUrl: $v, companyName: $v) { id } }", json!({ "v": payload }), Some(&user.access)),
                ("mutation($v: String!) { changePassword(currentPassword: $v, newPassword: $v) }", json!({ "v": payload }), Some(&user.access)),
            ];
            for (query, variables, token) in checks {
                let body = server.gql(query, variables, token).await;
                assert_nothing_leaks(&body, &format!("{query} with {short:?}"));
            }
            // The same text inline in the document, where the parser meets it first.
            let escaped = serde_json::to_string(payload).unwrap();
            let body = server.gql(&format!("{{ users(search: {escaped}) {{ totalCount }} }}"), json!({}), Some(&admin.access)).await;
            assert_nothing_leaks(&body, &format!("inline {short:?}"));
        }
        // Broken documents and variables.
        for query in ["{ user(id: ", "{ \u{0} }", "query($v: Int!) { user(id: $v) { id } }", "{ users(first: 999999999999) { totalCount } }"] {
            let body = server.gql(query, json!({ "v": "x" }), Some(&admin.access)).await;
            assert_nothing_leaks(&body, query);
        }
        // Still serving.
        assert_eq!(server.data("{ __typename }", json!({}), None).await["__typename"], "Query");
    }
}

on_both_backends! {
    async fn an_internal_error_names_the_request_and_nothing_else(server: TestServer) {
        let admin = server.admin("ops@example.id").await;
        let mut seen_internal = false;
        // A panic in the domain is INTERNAL, or UNAVAILABLE while the actor restarts.
        for _ in 0..10 {
            server.domains.faults(Domain::Users).unwrap().panic_next(1);
            let response = server.post_raw(&json!({ "query": ME }), Some(&admin.access), &[]).await;
            let header = response.headers()["x-request-id"].to_str().unwrap().to_owned();
            let body: Value = response.json().await.unwrap();
            let error = &body["errors"][0];
            assert_eq!(error["extensions"]["requestId"], header.as_str(), "{body}");
            assert!(!header.is_empty());
            let message = error["message"].as_str().unwrap();
            assert!(!message.contains("injected") && !message.contains("panic"), "{message}");
            if error["extensions"]["code"] == "INTERNAL" {
                assert!(message.contains("requestId"), "{message}");
                seen_internal = true;
                break;
            }
        }
        assert!(seen_internal, "a panic should come back as INTERNAL at least once in ten");
        // Request-level errors carry it too.
        let response = server.post_raw(&json!({ "query": "{ nope" }), None, &[]).await;
        let header = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["requestId"], header.as_str());
    }
}
