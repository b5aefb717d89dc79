//! Automatic persisted queries (Apollo's protocol) through async-graphql's extension,
//! and the safelist: a committed manifest of the only operations a server accepts.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    ErrorExtensionValues, Request, ServerError, ServerResult, Value,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
        apollo_persisted_queries::{ApolloPersistedQueries, CacheStorage, LruCacheStorage},
    },
    parser::types::ExecutableDocument,
};
use sha2::{Digest, Sha256};

/// The hex SHA-256 of a query text, as APQ and the safelist name queries.
pub fn query_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where persisted queries are kept. Parsed documents cannot be serialized faithfully
/// (variables do not round-trip), so a shared store keeps the *text*, handed to it by
/// [`PersistedStore::register_text`] when a client registers a query, and parses it
/// again on another instance.
#[async_graphql::async_trait::async_trait]
pub trait PersistedStore: Send + Sync + 'static {
    async fn get(&self, hash: &str) -> Option<ExecutableDocument>;
    async fn set(&self, hash: &str, document: ExecutableDocument);
    /// A query text that passed the limits and matches its hash.
    async fn register_text(&self, _hash: &str, _text: &str) {}
}

/// The in-process store: an LRU of parsed documents.
#[derive(Clone)]
pub struct LocalStore(LruCacheStorage);

impl LocalStore {
    pub fn new(capacity: usize) -> Self {
        Self(LruCacheStorage::new(capacity.max(1)))
    }
}

#[async_graphql::async_trait::async_trait]
impl PersistedStore for LocalStore {
    async fn get(&self, hash: &str) -> Option<ExecutableDocument> {
        self.0.get(hash.to_owned()).await
    }

    async fn set(&self, hash: &str, document: ExecutableDocument) {
        self.0.set(hash.to_owned(), document).await
    }
}

/// Lets async-graphql's extension use any [`PersistedStore`].
#[derive(Clone)]
struct Storage(Arc<dyn PersistedStore>);

#[async_graphql::async_trait::async_trait]
impl CacheStorage for Storage {
    async fn get(&self, key: String) -> Option<ExecutableDocument> {
        self.0.get(&key).await
    }

    async fn set(&self, key: String, query: ExecutableDocument) {
        self.0.set(&key, query).await
    }
}

/// async-graphql's APQ extension, plus handing registered texts to shared stores.
pub(crate) struct PersistedQueries {
    inner: ApolloPersistedQueries<Storage>,
    store: Arc<dyn PersistedStore>,
}

impl PersistedQueries {
    pub(crate) fn new(store: Arc<dyn PersistedStore>) -> Self {
        Self {
            inner: ApolloPersistedQueries::new(Storage(store.clone())),
            store,
        }
    }
}

impl ExtensionFactory for PersistedQueries {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PersistedQueriesExtension {
            inner: self.inner.create(),
            store: self.store.clone(),
        })
    }
}

struct PersistedQueriesExtension {
    inner: Arc<dyn Extension>,
    store: Arc<dyn PersistedStore>,
}

fn persisted_hash(request: &Request) -> Option<String> {
    match request.extensions.get("persistedQuery")? {
        Value::Object(fields) => match fields.get("sha256Hash")? {
            Value::String(hash) => Some(hash.to_ascii_lowercase()),
            _ => None,
        },
        _ => None,
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for PersistedQueriesExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if !request.query.is_empty()
            && let Some(hash) = persisted_hash(&request)
            && hash == query_hash(&request.query)
        {
            self.store.register_text(&hash, &request.query).await;
        }
        self.inner.prepare_request(ctx, request, next).await
    }
}

/// Operations the server accepts when it runs with a safelist: hash → query text.
#[derive(Debug, Clone, Default)]
pub struct Safelist {
    by_hash: HashMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SafelistError {
    #[error("the manifest is not a JSON object of \"<sha256 hex>\": \"query\": {0}")]
    Format(String),
    #[error("the manifest entry {hash} does not match the SHA-256 of its query ({actual})")]
    HashMismatch { hash: String, actual: String },
    #[error("the manifest entry {hash} is not a valid GraphQL document: {message}")]
    Invalid { hash: String, message: String },
}

impl Safelist {
    /// From the manifest's JSON: `{"<sha256 hex of the query>": "<query>"}`. Every hash
    /// is checked against its text, so a hand-edited entry cannot silently never match.
    pub fn from_json(json: &str) -> Result<Self, SafelistError> {
        let entries: HashMap<String, String> =
            serde_json::from_str(json).map_err(|e| SafelistError::Format(e.to_string()))?;
        let mut by_hash = HashMap::with_capacity(entries.len());
        for (hash, text) in entries {
            let hash = hash.to_ascii_lowercase();
            let actual = query_hash(&text);
            if actual != hash {
                return Err(SafelistError::HashMismatch { hash, actual });
            }
            if let Err(err) = async_graphql::parser::parse_query(&text) {
                return Err(SafelistError::Invalid {
                    hash,
                    message: err.to_string(),
                });
            }
            by_hash.insert(hash, text);
        }
        Ok(Self { by_hash })
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

/// Refuses every operation that is not in the safelist, by hash or by exact text.
pub(crate) struct SafelistGuard(pub Arc<Safelist>);

impl ExtensionFactory for SafelistGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SafelistGuard(self.0.clone()))
    }
}

fn forbidden(message: &str) -> ServerError {
    let mut err = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", "FORBIDDEN");
    err.extensions = Some(ext);
    err
}

#[async_graphql::async_trait::async_trait]
impl Extension for SafelistGuard {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let named = persisted_hash(&request);
        // The manifest is the store: APQ registration has nothing to add.
        request.extensions.remove("persistedQuery");
        let hash = if request.query.is_empty() {
            named.ok_or_else(|| forbidden("this server accepts only safelisted operations"))?
        } else {
            query_hash(&request.query)
        };
        match self.0.by_hash.get(&hash) {
            Some(text) => {
                if request.query.is_empty() {
                    request.query = text.clone();
                }
                next.run(ctx, request).await
            }
            None => Err(forbidden(
                "this operation is not in the server's safelist; only safelisted operations are accepted",
            )),
        }
    }
}
