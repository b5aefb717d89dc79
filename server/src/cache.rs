//! The response cache for anonymous reads (campaign and explore pages): the same query
//! and variables get the same answer for everyone who is not logged in, so it is kept
//! for a short TTL in this process and, with Redis, for every instance.
//!
//! A TTL alone would show a stale `raised` for seconds after a payment. So every entry
//! carries the *generation* it was computed in, and anything that may change what a
//! reader sees bumps the generation: a mutation answered here, an event on the bus, a
//! change this process applied from an event. An entry from an older generation is never
//! served. Generations are taken before executing, so an answer computed while a change
//! landed is stored under the old generation and never served.
//!
//! Across instances: a shared generation in Redis (`<prefix>:cache:generation`) is part of
//! every shared key. The instance where a change happens (a mutation it answered, an
//! event it applied) bumps it (INCR) and announces the new value on
//! `<prefix>.cache.invalidate`; the others move to it and forget their own copies. Bus
//! events themselves only clear local copies: the change behind each was already
//! announced by the instance that made it.

use std::{
    num::NonZeroUsize,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_graphql::Request;
use futures::StreamExt;
use gerak_actors::Domains;
use lru::LruCache;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::redis_link::RedisLink;

/// How long an expired answer of the current generation is still served while one
/// caller computes its successor.
const REFRESH_GRACE: Duration = Duration::from_secs(1);

/// Answers larger than this are not worth a slot (a page is a few KiB).
const MAX_BODY_BYTES: usize = 256 * 1024;

/// Where a cached answer came from, for the `X-Cache` header and the metrics.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Layer {
    Local,
    Shared,
}

/// Which cache slot a request maps to: a hash of everything that determines the answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    pub fn of(request: &Request) -> Self {
        let mut hash = Sha256::new();
        for part in [
            request.query.as_bytes(),
            request.operation_name.as_deref().unwrap_or("").as_bytes(),
        ] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        // serde_json writes maps in a stable order, so equal variables hash equally.
        let variables = serde_json::to_vec(&request.variables).unwrap_or_default();
        hash.update(&variables);
        Self(hash.finalize().into())
    }

    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The generations seen before executing a request: its answer may be stored only if
/// nothing moved meanwhile.
#[derive(Copy, Clone, Debug)]
pub struct Ticket {
    local: u64,
    shared: Option<u64>,
}

struct Entry {
    generation: u64,
    expires: Instant,
    body: Arc<str>,
}

struct Shared {
    redis: Arc<RedisLink>,
    /// The newest shared generation this instance knows of.
    generation: AtomicU64,
    /// Changes made here and not yet announced: while any are, the shared layer holds
    /// answers from before them and is neither read nor written.
    pending: AtomicU64,
    wake: Notify,
}

pub struct ResponseCache {
    ttl: Duration,
    generation: AtomicU64,
    entries: Mutex<LruCache<CacheKey, Entry>>,
    shared: Option<Shared>,
    counts: Counts,
}

/// `gerak_cache_total`, registered once rather than looked up on every request.
struct Counts {
    local_hits: metrics::Counter,
    shared_hits: metrics::Counter,
    misses: metrics::Counter,
}

impl ResponseCache {
    /// `None` when the TTL is zero: caching is off.
    pub fn new(ttl: Duration, capacity: usize, redis: Option<Arc<RedisLink>>) -> Option<Arc<Self>> {
        if ttl.is_zero() {
            return None;
        }
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Some(Arc::new(Self {
            ttl,
            generation: AtomicU64::new(1),
            entries: Mutex::new(LruCache::new(capacity)),
            shared: redis.map(|redis| Shared {
                redis,
                generation: AtomicU64::new(0),
                // The current shared generation is unknown until a first INCR.
                pending: AtomicU64::new(1),
                wake: Notify::new(),
            }),
            counts: Counts {
                local_hits: metrics::counter!("gerak_cache_total", "result" => "hit", "layer" => "local"),
                shared_hits: metrics::counter!("gerak_cache_total", "result" => "hit", "layer" => "shared"),
                misses: metrics::counter!("gerak_cache_total", "result" => "miss", "layer" => "any"),
            },
        }))
    }

    /// Starts the tasks that keep the cache honest: the bus's events and this process's
    /// applied changes bump the generation; with Redis, the shared generation follows and
    /// other instances' announcements are heard.
    pub fn watch(self: &Arc<Self>, domains: &Domains, redis_url: Option<&str>, prefix: &str) {
        let mut events = domains.bus.subscribe();
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            while events.next().await.is_some() {
                let Some(cache) = cache.upgrade() else { break };
                cache.forget_local();
            }
        });
        let mut changes = domains.changes.watch();
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let Some(cache) = cache.upgrade() else { break };
                cache.invalidate();
            }
        });
        if self.shared.is_none() {
            return;
        }
        // Lives as long as the runtime: the server's runtime ends with the server.
        let cache = self.clone();
        tokio::spawn(async move {
            let Some(shared) = &cache.shared else { return };
            loop {
                let wake = shared.wake.notified();
                cache.sync_shared().await;
                wake.await;
            }
        });
        // Sync once at start so that the shared layer is usable.
        if let Some(shared) = &self.shared {
            shared.wake.notify_one();
        }
        if let Some(url) = redis_url {
            let channel = format!("{prefix}.cache.invalidate");
            listen(Arc::downgrade(self), url.to_owned(), channel);
        }
    }

    /// A change happened here (a mutation answered, an event applied): forgets every
    /// answer, here and, through Redis, on every instance.
    pub fn invalidate(&self) {
        if let Some(shared) = &self.shared {
            shared.pending.fetch_add(1, Ordering::SeqCst);
            shared.wake.notify_one();
        }
        self.forget_local();
    }

    /// Forgets the answers this instance keeps in memory.
    fn forget_local(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Another instance announced a change and the shared generation it moved to.
    fn heard(&self, generation: u64) {
        if let Some(shared) = &self.shared {
            shared.generation.fetch_max(generation, Ordering::SeqCst);
        }
        self.forget_local();
    }

    pub fn ticket(&self) -> Ticket {
        Ticket {
            local: self.generation.load(Ordering::SeqCst),
            shared: self.shared_generation(),
        }
    }

    /// The shared generation, if the shared layer may be used now.
    fn shared_generation(&self) -> Option<u64> {
        let shared = self.shared.as_ref()?;
        let generation = shared.generation.load(Ordering::SeqCst);
        (shared.pending.load(Ordering::SeqCst) == 0).then_some(generation)
    }

    pub async fn get(&self, key: &CacheKey) -> Option<(Arc<str>, Layer)> {
        let ticket = self.ticket();
        {
            let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            match entries.get_mut(key) {
                Some(entry) if entry.generation == ticket.local && entry.expires > now => {
                    self.counts.local_hits.increment(1);
                    return Some((entry.body.clone(), Layer::Local));
                }
                Some(entry) if entry.generation == ticket.local => {
                    // Expired, but nothing changed since it was computed: this caller
                    // computes it again, and the callers that come meanwhile keep getting
                    // it for a moment longer, instead of all computing it at once (at
                    // 1,000 req/s that herd was the campaign page's p99).
                    entry.expires = now + self.ttl.min(REFRESH_GRACE);
                }
                Some(_) => {
                    entries.pop(key);
                }
                None => {}
            }
        }
        if let (Some(shared), Some(generation)) = (&self.shared, ticket.shared) {
            let redis_key = shared_key(&shared.redis, generation, key);
            // Boxed, so that requests answered locally do not carry its state.
            let found: Option<Option<String>> =
                Box::pin(shared.redis.run("response cache", |mut c| async move {
                    redis::cmd("GET").arg(redis_key).query_async(&mut c).await
                }))
                .await;
            if let Some(Some(body)) = found {
                let body: Arc<str> = body.into();
                self.keep_local(key, ticket, body.clone());
                self.counts.shared_hits.increment(1);
                return Some((body, Layer::Shared));
            }
        }
        self.counts.misses.increment(1);
        None
    }

    /// Keeps an answer computed under `ticket`, unless something changed since.
    pub async fn put(&self, key: CacheKey, ticket: Ticket, body: Arc<str>) {
        if body.len() > MAX_BODY_BYTES {
            return;
        }
        self.keep_local(&key, ticket, body.clone());
        let (Some(shared), Some(generation)) = (&self.shared, ticket.shared) else {
            return;
        };
        if self.shared_generation() != Some(generation) {
            return;
        }
        let redis_key = shared_key(&shared.redis, generation, &key);
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let _: Option<()> = shared
            .redis
            .run("response cache", |mut c| async move {
                redis::cmd("SET")
                    .arg(redis_key)
                    .arg(body.as_ref())
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async(&mut c)
                    .await
            })
            .await;
    }

    fn keep_local(&self, key: &CacheKey, ticket: Ticket, body: Arc<str>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // Checked under the lock that `get` takes: a bump after this point makes the
        // entry unreadable, a bump before it keeps it out.
        if self.generation.load(Ordering::SeqCst) != ticket.local {
            return;
        }
        entries.put(
            *key,
            Entry {
                generation: ticket.local,
                expires: Instant::now() + self.ttl,
                body,
            },
        );
    }

    /// Moves the shared generation past the changes made here so far and announces it.
    async fn sync_shared(&self) {
        let Some(shared) = &self.shared else { return };
        let pending = shared.pending.load(Ordering::SeqCst);
        if pending == 0 {
            return;
        }
        let generation_key = shared.redis.key(&["cache", "generation"]);
        let channel = format!("{}.cache.invalidate", shared.redis.key(&[]));
        let bumped: Option<u64> = shared
            .redis
            .run("response cache", |mut c| async move {
                let generation: u64 = redis::cmd("INCR")
                    .arg(&generation_key)
                    .query_async(&mut c)
                    .await?;
                let _: i64 = redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg(generation)
                    .query_async(&mut c)
                    .await?;
                Ok(generation)
            })
            .await;
        match bumped {
            Some(generation) => {
                shared.generation.fetch_max(generation, Ordering::SeqCst);
                shared.pending.fetch_sub(pending, Ordering::SeqCst);
            }
            None => {
                // Redis is down: the shared layer stays unused until it is back.
                tokio::time::sleep(Duration::from_secs(1)).await;
                shared.wake.notify_one();
            }
        }
    }
}

fn shared_key(redis: &RedisLink, generation: u64, key: &CacheKey) -> String {
    redis.key(&["cache", &generation.to_string(), &key.hex()])
}

/// Hears other instances' announcements. While the subscription is down this instance
/// may miss some, so every (re)subscription forgets everything too.
fn listen(cache: std::sync::Weak<ResponseCache>, url: String, channel: String) {
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(100);
        loop {
            let subscribed = async {
                let client = redis::Client::open(url.as_str())?;
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            }
            .await;
            match subscribed {
                Ok(mut pubsub) => {
                    delay = Duration::from_millis(100);
                    let Some(strong) = cache.upgrade() else {
                        return;
                    };
                    // Announcements may have been missed: learn the shared generation
                    // anew (an INCR) and forget.
                    strong.invalidate();
                    drop(strong);
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Some(strong) = cache.upgrade() else {
                            return;
                        };
                        match message.get_payload::<u64>() {
                            Ok(generation) => strong.heard(generation),
                            Err(_) => strong.invalidate(),
                        }
                    }
                }
                Err(err) => {
                    tracing::debug!(error = %err, "response cache: cannot subscribe to invalidations yet");
                }
            }
            if cache.upgrade().is_none() {
                return;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    });
}
