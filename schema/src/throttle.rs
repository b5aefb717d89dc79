//! Rate limits on root mutation fields, keyed by the field's name so that a limit set
//! for a mutation that does not exist yet (`donate`) applies the day it lands. The
//! counting itself is the server's (in-process or Redis): the schema only knows a
//! [`Limiter`].

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{
    ErrorExtensions, PathSegment, Request, ServerError, ServerResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextResolve, ResolveInfo,
    },
};
use sha2::{Digest, Sha256};

use crate::{Auth, error::ApiError, privacy::mask_email};

/// Who is asking, as the server sees the connection. Request data.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// The client's address as a rate-limit key (`ip:…`), proxies accounted for.
    pub client: String,
    /// Sent with GET: only queries may run.
    pub read_only: bool,
    /// Over a WebSocket, where the HTTP layer sees only the upgrade: the per-client
    /// rule and key each operation is counted against.
    pub count_each: Option<(&'static str, String)>,
}

/// A rate-limit decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the whole quota is available again.
    pub reset_secs: u64,
    /// Seconds to wait before trying again (0 when allowed).
    pub retry_after_secs: u64,
}

/// Counts calls against named rules. `take` spends `cost` calls (or refuses without
/// spending); `refund` gives calls back, for attempts that turn out not to count.
#[async_graphql::async_trait::async_trait]
pub trait Limiter: Send + Sync + 'static {
    /// `None` when the rule is not configured (no limit).
    async fn take(&self, rule: &str, key: &str, cost: u32) -> Option<Verdict>;
    async fn refund(&self, rule: &str, key: &str, cost: u32);
}

/// Rule names shared by the server's configuration and the schema.
pub mod rules {
    pub const ANONYMOUS: &str = "anonymous";
    pub const USER: &str = "user";
    pub const LOGIN_ACCOUNT: &str = "login_account";
    pub const LOGIN_IP: &str = "login_ip";
    pub const REGISTER: &str = "register";
    pub const DONATE: &str = "donate";
}

/// Who a per-call rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The client address.
    Ip,
    /// The logged-in user, or the client address for anonymous callers.
    UserOrIp,
}

/// The extension: per-call rules by root mutation field, and failed logins counted per
/// account and per address.
#[derive(Clone)]
pub struct Throttle {
    pub limiter: Arc<dyn Limiter>,
    /// Root mutation field → who is counted. The rule's name is the field's name.
    pub per_call: HashMap<String, Subject>,
}

impl Throttle {
    /// The project's rules: `register` per address, `donate` per user.
    pub fn new(limiter: Arc<dyn Limiter>) -> Self {
        let per_call = HashMap::from([
            (rules::REGISTER.to_owned(), Subject::Ip),
            (rules::DONATE.to_owned(), Subject::UserOrIp),
        ]);
        Self { limiter, per_call }
    }
}

impl ExtensionFactory for Throttle {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ThrottleExtension {
            throttle: self.clone(),
            variables: Mutex::new(Variables::default()),
        })
    }
}

/// One per request; keeps the variables, where `login`'s email usually is.
struct ThrottleExtension {
    throttle: Throttle,
    variables: Mutex<Variables>,
}

/// The account key of a login: the normalized email, hashed so that neither Redis nor
/// memory holds addresses and a 20,000-character "email" costs 64 bytes.
pub fn account_key(email: &str) -> String {
    let normalized = email.trim().to_lowercase();
    let digest = Sha256::digest(normalized.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

impl ThrottleExtension {
    fn string_argument(&self, info: &ResolveInfo<'_>, name: &str) -> Option<String> {
        let value = info.field.get_argument(name)?.node.clone();
        let variables = self
            .variables
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match value
            .into_const_with(|var| variables.get(&var).cloned().ok_or(()))
            .ok()?
        {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

fn limited(info: &ResolveInfo<'_>, verdict: &Verdict) -> ServerError {
    let seconds = verdict.retry_after_secs.max(1);
    let error = ApiError::RateLimited {
        message: format!("too many `{}` calls; try again in {seconds} s", info.name),
        retry_after_secs: seconds,
    }
    .extend();
    let mut error = error.into_server_error(Default::default());
    error.locations.clear();
    error.path = vec![PathSegment::Field(
        info.alias.unwrap_or(info.name).to_owned(),
    )];
    error
}

fn code_of(result: &ServerResult<Option<Value>>) -> Option<String> {
    match result {
        Ok(_) => None,
        Err(err) => match err.extensions.as_ref()?.get("code")? {
            Value::String(code) => Some(code.clone()),
            _ => None,
        },
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ThrottleExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Some((rule, key)) = ctx
            .data_opt::<RequestMeta>()
            .and_then(|m| m.count_each.as_ref())
            && let Some(verdict) = self.throttle.limiter.take(rule, key, 1).await
            && !verdict.allowed
        {
            let seconds = verdict.retry_after_secs.max(1);
            let error = ApiError::RateLimited {
                message: format!("too many requests; try again in {seconds} s"),
                retry_after_secs: seconds,
            }
            .extend();
            let mut error = error.into_server_error(Default::default());
            error.locations.clear();
            return Err(error);
        }
        if !request.variables.is_empty() {
            *self
                .variables
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = request.variables.clone();
        }
        next.run(ctx, request).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let root_mutation = info.parent_type == "Mutation" && info.path_node.parent.is_none();
        let meta = ctx.data_opt::<RequestMeta>();
        let (true, Some(meta)) = (root_mutation, meta) else {
            return next.run(ctx, info).await;
        };
        let limiter = &self.throttle.limiter;
        let user = match ctx.data_opt::<Auth>() {
            Some(Auth::Viewer(viewer)) => Some(format!("user:{}", viewer.user_id)),
            _ => None,
        };

        // Spent before the call, so that concurrent attempts cannot all slip through;
        // given back afterwards when the attempt turns out not to count.
        let mut spent: Vec<(&str, String, bool)> = Vec::new();
        let mut refused: Option<Verdict> = None;
        if let Some(subject) = self.throttle.per_call.get(info.name) {
            let key = match (subject, &user) {
                (Subject::UserOrIp, Some(user)) => user.clone(),
                _ => meta.client.clone(),
            };
            match limiter.take(info.name, &key, 1).await {
                Some(v) if !v.allowed => refused = Some(v),
                Some(_) => spent.push((info.name, key, false)),
                None => {}
            }
        }
        let mut account = None;
        if info.name == "login" && refused.is_none() {
            let email = self.string_argument(&info, "email").unwrap_or_default();
            account = Some(mask_email(&email));
            for (rule, key) in [
                (rules::LOGIN_ACCOUNT, account_key(&email)),
                (rules::LOGIN_IP, meta.client.clone()),
            ] {
                match limiter.take(rule, &key, 1).await {
                    Some(v) if !v.allowed => {
                        refused = Some(match refused {
                            Some(r) if r.retry_after_secs >= v.retry_after_secs => r,
                            _ => v,
                        })
                    }
                    Some(_) => spent.push((rule, key, true)),
                    None => {}
                }
            }
        }
        if let Some(verdict) = refused {
            for (rule, key, _) in &spent {
                limiter.refund(rule, key, 1).await;
            }
            tracing::info!(
                field = info.name,
                client = %meta.client,
                account = account.as_deref().unwrap_or("-"),
                retry_after = verdict.retry_after_secs,
                "rate limited"
            );
            metrics::counter!("gerak_rate_limited_total", "rule" => info.name.to_owned())
                .increment(1);
            return Err(limited(&info, &verdict));
        }

        let result = next.run(ctx, info).await;
        let code = code_of(&result);
        for (rule, key, is_login) in &spent {
            let counts = if *is_login {
                // Only a wrong email or password is a failure to count.
                code.as_deref() == Some("UNAUTHENTICATED")
            } else {
                // Input the server refused created nothing: the call does not count.
                code.as_deref() != Some("BAD_USER_INPUT")
            };
            if !counts {
                limiter.refund(rule, key, 1).await;
            }
        }
        result
    }
}
