//! The one GraphQL schema over every domain. It reaches domains only through their
//! handles and knows nothing of HTTP: the server hands it requests and credentials.

pub mod auth;
pub mod connection;
pub mod error;
mod ids;
mod limits;
pub mod persisted;
pub mod privacy;
mod system;
pub mod throttle;
pub mod users;

use std::sync::Arc;

use async_graphql::{
    Context, Data, MergedObject, MergedSubscription, Request, Schema, dataloader::DataLoader,
};
use gerak_actors::Domains;

pub use auth::Auth;
pub use error::{ApiError, ApiResult, FieldError, FieldResult};
pub use limits::Limits;
pub use persisted::{LocalStore, PersistedStore, Safelist};
pub use privacy::mask_email;
pub use throttle::{Limiter, RequestMeta, Throttle, Verdict};

#[derive(MergedObject, Default)]
pub struct Query(users::UsersQuery, system::SystemQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(users::UsersMutation);

#[derive(MergedSubscription, Default)]
pub struct Subscription(users::UsersSubscription);

pub type GerakSchema = Schema<Query, Mutation, Subscription>;

/// The running domains, as resolvers see them.
pub struct Handles;

impl Handles {
    pub fn of<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Domains> {
        ctx.data::<Arc<Domains>>().map(|d| d.as_ref()).map_err(|e| {
            ApiError::Internal(format!("domains missing from the schema: {}", e.message))
        })
    }
}

/// What stands between a request and the resolvers, besides the [`Limits`].
#[derive(Clone, Default)]
pub struct FrontDoor {
    /// Automatic persisted queries, kept in this store; `None` turns them off.
    pub persisted: Option<Arc<dyn PersistedStore>>,
    /// Only these operations are accepted.
    pub safelist: Option<Arc<Safelist>>,
    /// Per-mutation rate limits.
    pub throttle: Option<Throttle>,
}

/// The schema serving the given domains.
pub fn build(domains: Arc<Domains>, limits: &Limits, front: FrontDoor) -> GerakSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .data(domains)
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_recursive_depth(limits.max_recursive_depth);
    // Order matters: each extension's `prepare_request` runs before the next one's. The
    // safelist turns a hash into its text, the limits look at the text, and only then
    // does APQ parse it.
    if let Some(safelist) = front.safelist {
        builder = builder.extension(persisted::SafelistGuard(safelist));
    }
    builder = builder.extension(limits::QueryLimits(limits.clone()));
    if let Some(store) = front.persisted {
        builder = builder.extension(persisted::PersistedQueries::new(store));
    }
    if let Some(throttle) = front.throttle {
        builder = builder.extension(throttle);
    }
    builder = builder.extension(limits::OperationMetrics);
    if !limits.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The schema's SDL, for `gerak export-schema` and the committed `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish()
    .sdl()
}

/// Adds what one HTTP request needs: its credentials, who sent it, per-request loaders.
pub fn prepare(domains: &Domains, request: Request, auth: Auth, meta: RequestMeta) -> Request {
    request.data(auth).data(meta).data(DataLoader::new(
        users::UserLoader(domains.users.clone()),
        tokio::spawn,
    ))
}

/// The same for a WebSocket connection. Loaders do not cache here: a connection lives
/// long and must see changes.
pub fn connection_data(domains: &Domains, auth: Auth, meta: RequestMeta) -> Data {
    let mut data = Data::default();
    data.insert(auth);
    data.insert(meta);
    let users = DataLoader::new(users::UserLoader(domains.users.clone()), tokio::spawn);
    users.enable_all_cache(false);
    data.insert(users);
    data
}
