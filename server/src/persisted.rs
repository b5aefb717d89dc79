//! Persisted queries shared through Redis: texts under `<prefix>:apq:<sha256>`, parsed
//! documents cached in each instance's LRU. When Redis fails, the LRU alone answers and
//! clients re-register what is missing, as the APQ protocol expects.

use std::{sync::Arc, time::Duration};

use async_graphql::parser::types::ExecutableDocument;
use gerak_schema::{LocalStore, PersistedStore};
use redis::AsyncCommands;

use crate::redis_link::RedisLink;

/// Registered texts expire after a day unused; clients register them again on a miss.
const TTL: Duration = Duration::from_secs(24 * 3600);

pub struct RedisStore {
    local: LocalStore,
    redis: Arc<RedisLink>,
}

impl RedisStore {
    pub fn new(capacity: usize, redis: Arc<RedisLink>) -> Self {
        Self {
            local: LocalStore::new(capacity),
            redis,
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl PersistedStore for RedisStore {
    async fn get(&self, hash: &str) -> Option<ExecutableDocument> {
        if let Some(document) = self.local.get(hash).await {
            return Some(document);
        }
        let key = self.redis.key(&["apq", hash]);
        let text: Option<String> = self
            .redis
            .run("persisted queries", |mut conn| async move {
                conn.get_ex(key, redis::Expiry::EX(TTL.as_secs())).await
            })
            .await
            .flatten();
        // The text passed the limits when it was registered; the parsed document is
        // checked again (aliases, directives, depth) before it runs.
        let document = async_graphql::parser::parse_query(text?).ok()?;
        self.local.set(hash, document.clone()).await;
        Some(document)
    }

    async fn set(&self, hash: &str, document: ExecutableDocument) {
        self.local.set(hash, document).await;
    }

    async fn register_text(&self, hash: &str, text: &str) {
        let key = self.redis.key(&["apq", hash]);
        let text = text.to_owned();
        self.redis
            .run("persisted queries", |mut conn| async move {
                conn.set_ex::<_, _, ()>(key, text, TTL.as_secs()).await
            })
            .await;
    }
}
