//! A GraphQL-over-HTTP client that treats any `errors` entry as a failure.

use serde_json::{Value, json};

use crate::{Error, Result};

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
}

impl Client {
    pub fn new(base: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            http,
            url: format!("{}/graphql", base.trim_end_matches('/')),
        })
    }

    /// Sends one operation; `Ok(data)` only for a 200 with data and no errors.
    pub async fn data(&self, query: &str, variables: Value, token: Option<&str>) -> Result<Value> {
        let body = json!({ "query": query, "variables": variables });
        self.post_body(&body, token).await
    }

    pub async fn post_body(&self, body: &Value, token: Option<&str>) -> Result<Value> {
        let mut request = self.http.post(&self.url).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        check(status.as_u16(), &bytes)
    }

    /// `data` with a few retries for transient failures (seeding on a busy machine).
    pub async fn data_retry(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> Result<Value> {
        let mut attempt = 0;
        loop {
            match self.data(query, variables.clone(), token).await {
                Err(err) if err.transient() && attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
                other => return other,
            }
        }
    }
}

/// A response is good when it is HTTP 200, JSON, with `data` and without `errors`
/// (GraphQL errors come back with HTTP 200).
pub fn check(status: u16, bytes: &[u8]) -> Result<Value> {
    let body: Value = serde_json::from_slice(bytes).map_err(|_| Error::Graphql {
        code: format!("HTTP {status}, not JSON"),
        body: Value::String(String::from_utf8_lossy(bytes).chars().take(300).collect()),
    })?;
    if let Some(errors) = body.get("errors") {
        let code = errors[0]["extensions"]["code"]
            .as_str()
            .unwrap_or("UNKNOWN")
            .to_owned();
        return Err(Error::Graphql { code, body });
    }
    if status != 200 {
        return Err(Error::Graphql {
            code: format!("HTTP {status}"),
            body,
        });
    }
    match body.get("data") {
        Some(data) if !data.is_null() => Ok(data.clone()),
        _ => Err(Error::Graphql {
            code: "NO_DATA".to_owned(),
            body,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_with_http_200_are_failures() {
        assert!(check(200, br#"{"data":{"__typename":"Query"}}"#).is_ok());
        let err = check(
            200,
            br#"{"data":null,"errors":[{"message":"no","extensions":{"code":"NOT_FOUND"}}]}"#,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Graphql { ref code, .. } if code == "NOT_FOUND"));
        assert!(check(429, br#"{"data":{"x":1}}"#).is_err());
        assert!(check(200, b"<html>").is_err());
        assert!(check(200, br#"{"data":null}"#).is_err());
    }
}
