//! The front door's Redis connection (rate limits, persisted queries), with a breaker:
//! when Redis fails, callers fall back to in-process state for a few seconds instead of
//! waiting on a dead connection with every request, and the outage is logged once.

use std::{
    future::Future,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use redis::{
    Client,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

/// Longest wait for one Redis call on the request path. Redis answers in well under a
/// millisecond on a healthy network; waiting longer only slows every request down.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);
/// How long to stay on the fallback after a failure before trying Redis again.
const BACKOFF: Duration = Duration::from_secs(5);

pub struct RedisLink {
    connection: ConnectionManager,
    prefix: String,
    /// Set while Redis is considered down: until when to leave it alone.
    down_until: Mutex<Option<Instant>>,
}

impl RedisLink {
    /// Checks the URL; connects on first use (must be called inside a tokio runtime).
    pub fn new(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT))
            .set_number_of_retries(1);
        Ok(Self {
            connection: ConnectionManager::new_lazy_with_config(client, config)?,
            prefix: prefix.to_owned(),
            down_until: Mutex::new(None),
        })
    }

    /// `<prefix>:<part>:<part>...`
    pub fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    /// Runs `call` on Redis, or returns `None` (the caller falls back) when Redis is
    /// down or fails now. `what` names the caller in the log.
    pub async fn run<T, F, Fut>(&self, what: &str, call: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        {
            let down = self
                .down_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if down.is_some_and(|until| Instant::now() < until) {
                return None;
            }
        }
        let outcome = tokio::time::timeout(CALL_TIMEOUT, call(self.connection.clone())).await;
        let mut down = self
            .down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(Ok(value)) => {
                if down.take().is_some() {
                    tracing::info!(what, "Redis answers again; shared state is back in use");
                }
                Some(value)
            }
            Ok(Err(err)) => {
                if down.is_none() {
                    tracing::warn!(what, error = %err, "Redis failed; falling back to in-process state");
                }
                *down = Some(Instant::now() + BACKOFF);
                None
            }
            Err(_) => {
                if down.is_none() {
                    tracing::warn!(
                        what,
                        "Redis did not answer in time; falling back to in-process state"
                    );
                }
                *down = Some(Instant::now() + BACKOFF);
                None
            }
        }
    }
}
