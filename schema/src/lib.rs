//! The one GraphQL schema over every domain. It reaches domains only through their
//! handles and knows nothing of HTTP: the server hands it requests and credentials.

pub mod auth;
pub mod connection;
pub mod error;
mod ids;
mod limits;
mod system;
pub mod users;

use std::sync::Arc;

use async_graphql::{
    Context, Data, MergedObject, MergedSubscription, Request, Schema, dataloader::DataLoader,
};
use gerak_actors::Domains;

pub use auth::Auth;
pub use error::{ApiError, ApiResult, FieldError, FieldResult};
pub use limits::Limits;

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

/// The schema serving the given domains.
pub fn build(domains: Arc<Domains>, limits: &Limits) -> GerakSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .data(domains)
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .extension(limits::QueryLimits {
        max_aliases: limits.max_aliases,
        introspection: limits.introspection,
    })
    .extension(limits::OperationMetrics);
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

/// Adds what one HTTP request needs: its credentials and per-request loaders.
pub fn prepare(domains: &Domains, request: Request, auth: Auth) -> Request {
    request.data(auth).data(DataLoader::new(
        users::UserLoader(domains.users.clone()),
        tokio::spawn,
    ))
}

/// The same for a WebSocket connection. Loaders do not cache here: a connection lives
/// long and must see changes.
pub fn connection_data(domains: &Domains, auth: Auth) -> Data {
    let mut data = Data::default();
    data.insert(auth);
    let users = DataLoader::new(users::UserLoader(domains.users.clone()), tokio::spawn);
    users.enable_all_cache(false);
    data.insert(users);
    data
}
