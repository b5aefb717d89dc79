//! The one GraphQL schema over every domain. It reaches domains only through their
//! handles and knows nothing of HTTP: the server hands it requests and credentials.

pub mod auth;
pub mod campaigns;
pub mod challenges;
pub mod connection;
mod documents;
pub mod donations;
pub mod error;
mod input;
mod limits;
mod loaders;
pub mod money;
pub mod persisted;
pub mod privacy;
pub mod reports;
mod system;
pub mod throttle;
pub mod users;

use std::sync::Arc;

use async_graphql::{
    Context, Data, MergedObject, MergedSubscription, Request, Schema, dataloader::DataLoader,
};
use gerak_actors::Domains;

pub use auth::Auth;
pub use documents::ParsedDocuments;
pub use error::{ApiError, ApiResult, FieldError, FieldResult};
pub use limits::Limits;
pub use loaders::in_passes;
pub use persisted::{LocalStore, PersistedStore, Safelist};
pub use privacy::mask_email;
pub use throttle::{Limiter, RequestMeta, Throttle, Verdict};

#[derive(MergedObject, Default)]
pub struct Query(
    users::UsersQuery,
    campaigns::CampaignsQuery,
    challenges::ChallengesQuery,
    donations::DonationsQuery,
    reports::ReportsQuery,
    system::SystemQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    users::UsersMutation,
    campaigns::CampaignsMutation,
    challenges::ChallengesMutation,
    donations::DonationsMutation,
    reports::ReportsMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    users::UsersSubscription,
    donations::DonationsSubscription,
    reports::ReportsSubscription,
);

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
    /// Parsed documents, shared with the HTTP front door (which asks their operation type).
    pub documents: Arc<ParsedDocuments>,
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
    builder = builder.extension(limits::QueryLimits {
        limits: limits.clone(),
        documents: front.documents,
    });
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
pub fn prepare(domains: &Domains, mut request: Request, auth: Auth, meta: RequestMeta) -> Request {
    request.data.insert(auth);
    request.data.insert(meta);
    insert_loaders(&mut request.data, domains, true);
    request
}

/// How long a loader waits for more keys before it sends its batch: nothing, since a
/// fetch starts only after the poll that resolved the sibling fields (`loaders::in_passes`).
/// The library's default (1 ms) added a millisecond to every level of every request
/// (`me` took 1.5 ms, 0.4 ms without).
const LOADER_WINDOW: std::time::Duration = std::time::Duration::ZERO;

fn insert_loaders(data: &mut Data, domains: &Domains, cache: bool) {
    fn add<L>(data: &mut Data, loader: L, cache: bool)
    where
        DataLoader<L>: Send + Sync + 'static,
    {
        let loader = DataLoader::new(loader, loaders::spawn_fetch).delay(LOADER_WINDOW);
        loader.enable_all_cache(cache);
        data.insert(loader);
    }
    add(data, users::UserLoader(domains.users.clone()), cache);
    add(
        data,
        campaigns::CampaignLoader(domains.campaigns.clone()),
        cache,
    );
    add(
        data,
        challenges::ChallengeLoader(domains.challenges.clone()),
        cache,
    );
    add(
        data,
        challenges::ParticipationLoader(domains.challenges.clone()),
        cache,
    );
    add(
        data,
        challenges::CampaignChallengesLoader(domains.challenges.clone()),
        cache,
    );
    add(
        data,
        challenges::MyParticipationLoader(domains.challenges.clone()),
        cache,
    );
    add(
        data,
        challenges::LeaderboardLoader(domains.challenges.clone()),
        cache,
    );
    add(
        data,
        donations::DonationLoader(domains.donations.clone()),
        cache,
    );
}

/// The same for a WebSocket connection. Loaders do not cache here: a connection lives
/// long and must see changes.
pub fn connection_data(domains: &Domains, auth: Auth, meta: RequestMeta) -> Data {
    let mut data = Data::default();
    data.insert(auth);
    data.insert(meta);
    insert_loaders(&mut data, domains, false);
    data
}
