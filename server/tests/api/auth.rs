//! Registration, login, sessions, and every way a credential is refused.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

use crate::{
    on_both_backends,
    support::{JWT_SECRET, error_code},
};

const ME: &str = "{ me { id email role fullName } }";

fn token_with(secret: &str, sub: &str, exp_offset_secs: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    encode(
        &Header::new(Algorithm::HS256),
        &json!({ "sub": sub, "role": "ADMIN", "iat": now, "exp": now + exp_offset_secs, "jti": "t" }),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

on_both_backends! {
    async fn register_login_refresh_me(server: TestServer) {
        let session = server.register("  Ana@Example.ID ", "USER").await;
        let me = server.data(ME, json!({}), Some(&session.access)).await;
        assert_eq!(me["me"]["id"], session.user_id.as_str());
        assert_eq!(me["me"]["email"], "Ana@Example.ID");
        assert_eq!(me["me"]["role"], "USER");

        // Anonymous `me` is null, not an error.
        assert_eq!(server.data(ME, json!({}), None).await["me"], json!(null));

        // Login is case- and space-insensitive on the email.
        let login = server
            .data(
                "mutation { login(email: \"ana@example.id\", password: \"correct horse battery\") { accessToken refreshToken expiresAt user { id email } } }",
                json!({}),
                None,
            )
            .await;
        assert_eq!(login["login"]["user"]["id"], session.user_id.as_str());
        assert_eq!(login["login"]["user"]["email"], "Ana@Example.ID");

        // Refresh rotates: a new pair, and `me` works with the new access token.
        let refresh = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";
        let rotated = server.data(refresh, json!({ "t": session.refresh }), None).await;
        let new_access = rotated["refreshToken"]["accessToken"].as_str().unwrap().to_owned();
        let new_refresh = rotated["refreshToken"]["refreshToken"].as_str().unwrap().to_owned();
        assert_ne!(new_refresh, session.refresh);
        let me = server.data(ME, json!({}), Some(&new_access)).await;
        assert_eq!(me["me"]["id"], session.user_id.as_str());

        // Reusing the rotated token is refused and revokes the whole family.
        let reused = server.gql(refresh, json!({ "t": session.refresh }), None).await;
        assert_eq!(error_code(&reused), "UNAUTHENTICATED");
        let after_theft = server.gql(refresh, json!({ "t": new_refresh }), None).await;
        assert_eq!(error_code(&after_theft), "UNAUTHENTICATED", "the family must be revoked: {after_theft}");

        // The other session (from login) is untouched and ends with logout.
        let other_refresh = login["login"]["refreshToken"].as_str().unwrap();
        let logout = server.data("mutation($t: String!) { logout(refreshToken: $t) }", json!({ "t": other_refresh }), None).await;
        assert_eq!(logout["logout"], true);
        let after_logout = server.gql(refresh, json!({ "t": other_refresh }), None).await;
        assert_eq!(error_code(&after_logout), "UNAUTHENTICATED");
    }
}

on_both_backends! {
    async fn refused_credentials(server: TestServer) {
        let session = server.register("bob@example.id", "USER").await;

        let wrong = server
            .gql("mutation { login(email: \"bob@example.id\", password: \"not the password\") { accessToken } }", json!({}), None)
            .await;
        assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
        let unknown = server
            .gql("mutation { login(email: \"nobody@example.id\", password: \"not the password\") { accessToken } }", json!({}), None)
            .await;
        assert_eq!(error_code(&unknown), "UNAUTHENTICATED");
        assert_eq!(wrong["errors"][0]["message"], unknown["errors"][0]["message"], "no account enumeration");

        // Expired (beyond the leeway), signed with our secret.
        let expired = token_with(JWT_SECRET, &session.user_id, -120);
        let body = server.gql(ME, json!({}), Some(&expired)).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("expired"));

        // Forged: right shape, another secret.
        let forged = token_with("someone else's secret, 32 bytes or more", &session.user_id, 600);
        assert_eq!(error_code(&server.gql(ME, json!({}), Some(&forged)).await), "UNAUTHENTICATED");

        // alg: none, with claims that would make the caller an admin.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let now = chrono::Utc::now().timestamp();
        let claims = URL_SAFE_NO_PAD.encode(
            json!({ "sub": session.user_id, "role": "ADMIN", "iat": now, "exp": now + 600, "jti": "x" }).to_string(),
        );
        let none = format!("{header}.{claims}.");
        assert_eq!(error_code(&server.gql(ME, json!({}), Some(&none)).await), "UNAUTHENTICATED");

        // Another algorithm (HS512) with our secret is refused too: the algorithm is pinned.
        let now = chrono::Utc::now().timestamp();
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &json!({ "sub": session.user_id, "role": "USER", "iat": now, "exp": now + 600, "jti": "y" }),
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap();
        assert_eq!(error_code(&server.gql(ME, json!({}), Some(&hs512)).await), "UNAUTHENTICATED");

        // Garbage and a wrong scheme.
        assert_eq!(error_code(&server.gql(ME, json!({}), Some("not-a-jwt")).await), "UNAUTHENTICATED");

        // A non-admin calling an admin field.
        let users = server.gql("{ users { totalCount } }", json!({}), Some(&session.access)).await;
        assert_eq!(error_code(&users), "FORBIDDEN");
        let anonymous = server.gql("{ users { totalCount } }", json!({}), None).await;
        assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
        let promote = server
            .gql(
                "mutation($id: ID!) { setUserRole(userId: $id, role: ADMIN) { role } }",
                json!({ "id": session.user_id }),
                Some(&session.access),
            )
            .await;
        assert_eq!(error_code(&promote), "FORBIDDEN");
    }
}

on_both_backends! {
    async fn registration_rules(server: TestServer) {
        let register = "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }";
        let input = |email: &str, password: &str, name: &str, role: &str| {
            json!({ "input": { "email": email, "password": password, "fullName": name, "role": role } })
        };
        server.register("cici@example.id", "SPONSOR").await;

        let duplicate = server.gql(register, input(" CICI@example.ID ", "long enough pw", "Cici", "USER"), None).await;
        assert_eq!(error_code(&duplicate), "CONFLICT");

        for role in ["ADMIN", "SERVICE"] {
            let body = server.gql(register, input("dodi@example.id", "long enough pw", "Dodi", role), None).await;
            assert_eq!(error_code(&body), "FORBIDDEN", "{role}");
        }

        for (email, password, name, field) in [
            ("not-an-email", "long enough pw", "Eka", "email"),
            ("eka@example.id", "short", "Eka", "password"),
            ("eka@example.id", "long enough pw", "   ", "fullName"),
            ("eka@example.id", "long enough pw", &"x".repeat(201), "fullName"),
        ] {
            let body = server.gql(register, input(email, password, name, "USER"), None).await;
            assert_eq!(error_code(&body), "BAD_USER_INPUT", "{field}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
        }
    }
}

on_both_backends! {
    async fn profile_and_password(server: TestServer) {
        let session = server.register("fajar@example.id", "SPONSOR").await;
        let update = "mutation($name: String, $avatar: String, $company: String) { updateProfile(fullName: $name, avatarUrl: $avatar, companyName: $company) { fullName avatarUrl companyName } }";
        let data = server
            .data(update, json!({ "name": " Fajar ", "avatar": "https://cdn.example/f.png", "company": "PT Hijau" }), Some(&session.access))
            .await;
        assert_eq!(data["updateProfile"], json!({ "fullName": "Fajar", "avatarUrl": "https://cdn.example/f.png", "companyName": "PT Hijau" }));
        // Absent leaves a field alone; null clears it.
        let data = server
            .data("mutation { updateProfile(companyName: null) { avatarUrl companyName } }", json!({}), Some(&session.access))
            .await;
        assert_eq!(data["updateProfile"]["companyName"], json!(null));
        assert_eq!(data["updateProfile"]["avatarUrl"], "https://cdn.example/f.png");

        let bad = server.gql(update, json!({ "avatar": "javascript:alert(1)" }), Some(&session.access)).await;
        assert_eq!(error_code(&bad), "BAD_USER_INPUT");
        assert_eq!(bad["errors"][0]["extensions"]["field"], "avatarUrl");
        let anonymous = server.gql(update, json!({ "name": "x" }), None).await;
        assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

        let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
        let wrong = server.gql(change, json!({ "c": "not it at all", "n": "brand new password" }), Some(&session.access)).await;
        assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
        assert_eq!(wrong["errors"][0]["extensions"]["field"], "currentPassword");
        let short = server.gql(change, json!({ "c": "correct horse battery", "n": "short" }), Some(&session.access)).await;
        assert_eq!(short["errors"][0]["extensions"]["field"], "newPassword");
        let ok = server.data(change, json!({ "c": "correct horse battery", "n": "brand new password" }), Some(&session.access)).await;
        assert_eq!(ok["changePassword"], true);

        // Old sessions end; the old password no longer works; the new one does.
        let refresh = server
            .gql("mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", json!({ "t": session.refresh }), None)
            .await;
        assert_eq!(error_code(&refresh), "UNAUTHENTICATED");
        let old = server
            .gql("mutation { login(email: \"fajar@example.id\", password: \"correct horse battery\") { accessToken } }", json!({}), None)
            .await;
        assert_eq!(error_code(&old), "UNAUTHENTICATED");
        server
            .data("mutation { login(email: \"fajar@example.id\", password: \"brand new password\") { accessToken } }", json!({}), None)
            .await;
    }
}
