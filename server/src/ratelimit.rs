//! Rate limits: GCRA (a leaky bucket without timers) per rule and key. In-process the
//! arithmetic is `governor`'s; with Redis the same arithmetic runs in a Lua script, so
//! every instance shares one budget. When Redis fails the in-process limiter answers
//! (and the outage is logged once): limits stay on, never all-or-nothing.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use gerak_schema::{Limiter, Verdict};
use governor::{
    Quota, RateLimiter as Gcra, clock::MonotonicClock, middleware::StateInformationMiddleware,
    nanos::Nanos, state::StateStore,
};

use crate::{config::Rate, redis_link::RedisLink};

/// Per rule: the rate and its in-process state.
struct Rule {
    rate: Rate,
    /// Time to earn back one call.
    emission: Duration,
    local: Gcra<String, Store, MonotonicClock, StateInformationMiddleware>,
    store: Store,
}

pub struct RateLimiter {
    rules: HashMap<&'static str, Rule>,
    redis: Option<Arc<RedisLink>>,
    script: redis::Script,
}

impl RateLimiter {
    pub fn new(rates: &[(&'static str, Rate)], redis: Option<Arc<RedisLink>>) -> Self {
        let rules = rates
            .iter()
            .filter_map(|&(name, rate)| {
                let burst = NonZeroU32::new(rate.count)?;
                let quota = Quota::with_period(rate.period / rate.count)?.allow_burst(burst);
                let store = Store::default();
                let local = Gcra::<String, Store, MonotonicClock, StateInformationMiddleware>::new(
                    quota,
                    store.clone(),
                    MonotonicClock,
                );
                Some((
                    name,
                    Rule {
                        rate,
                        emission: quota.replenish_interval(),
                        local,
                        store,
                    },
                ))
            })
            .collect();
        Self {
            rules,
            redis,
            script: redis::Script::new(GCRA_LUA),
        }
    }

    /// Whether a rule is configured.
    pub fn has(&self, rule: &str) -> bool {
        self.rules.contains_key(rule)
    }

    /// Spends `cost` calls of `rule` for `key`, or refuses without spending.
    pub async fn take(&self, rule: &str, key: &str, cost: u32) -> Option<Verdict> {
        let rule_state = self.rules.get(rule)?;
        let cost = cost.max(1);
        if let Some(redis) = &self.redis
            // Boxed: a Redis round trip's state would otherwise make every request's
            // future larger, limits on Redis or not.
            && let Some(verdict) = Box::pin(self.take_shared(redis, rule, rule_state, key, cost)).await
        {
            return Some(verdict);
        }
        Some(rule_state.take_local(key, cost))
    }

    /// Gives `cost` calls back (an attempt that turned out not to count).
    pub async fn refund(&self, rule: &str, key: &str, cost: u32) {
        let Some(rule_state) = self.rules.get(rule) else {
            return;
        };
        if let Some(redis) = &self.redis {
            let redis_key = redis.key(&["rl", rule, key]);
            let done = redis
                .run("rate limit", |mut conn| {
                    let mut invocation = self.script.key(redis_key);
                    invocation
                        .arg(micros(rule_state.emission))
                        .arg(rule_state.rate.count)
                        .arg(-i64::from(cost));
                    async move { invocation.invoke_async::<Vec<i64>>(&mut conn).await }
                })
                .await;
            if done.is_some() {
                return;
            }
        }
        rule_state.store.refund(key, rule_state.emission * cost);
    }

    async fn take_shared(
        &self,
        redis: &RedisLink,
        rule: &str,
        state: &Rule,
        key: &str,
        cost: u32,
    ) -> Option<Verdict> {
        let redis_key = redis.key(&["rl", rule, key]);
        let reply = redis
            .run("rate limit", |mut conn| {
                let mut invocation = self.script.key(redis_key);
                invocation
                    .arg(micros(state.emission))
                    .arg(state.rate.count)
                    .arg(i64::from(cost));
                async move { invocation.invoke_async::<Vec<i64>>(&mut conn).await }
            })
            .await?;
        let [allowed, remaining, reset_us, retry_us] = reply[..] else {
            return None;
        };
        Some(Verdict {
            allowed: allowed == 1,
            limit: state.rate.count,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
            reset_secs: ceil_secs(reset_us),
            retry_after_secs: if allowed == 1 {
                0
            } else {
                ceil_secs(retry_us).max(1)
            },
        })
    }
}

impl Rule {
    fn take_local(&self, key: &str, cost: u32) -> Verdict {
        self.store.sweep(self.rate.period);
        let limit = self.rate.count;
        let cost = NonZeroU32::new(cost).unwrap_or(NonZeroU32::MIN);
        let key = key.to_owned();
        match self.local.check_key_n(&key, cost) {
            Ok(Ok(snapshot)) => {
                let remaining = snapshot.remaining_burst_capacity();
                Verdict {
                    allowed: true,
                    limit,
                    remaining,
                    reset_secs: ceil(self.emission * (limit - remaining.min(limit))),
                    retry_after_secs: 0,
                }
            }
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(&MonotonicClock));
                Verdict {
                    allowed: false,
                    limit,
                    remaining: 0,
                    reset_secs: ceil(wait + self.emission * (limit - 1)),
                    retry_after_secs: ceil(wait).max(1),
                }
            }
            // More calls at once than the whole quota: they can never all pass.
            Err(_) => Verdict {
                allowed: false,
                limit,
                remaining: 0,
                reset_secs: self.rate.period.as_secs(),
                retry_after_secs: self.rate.period.as_secs().max(1),
            },
        }
    }
}

fn ceil(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

fn ceil_secs(micros: i64) -> u64 {
    u64::try_from(micros.max(0))
        .unwrap_or(0)
        .div_ceil(1_000_000)
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros())
        .unwrap_or(i64::MAX)
        .max(1)
}

#[async_graphql::async_trait::async_trait]
impl Limiter for RateLimiter {
    async fn take(&self, rule: &str, key: &str, cost: u32) -> Option<Verdict> {
        RateLimiter::take(self, rule, key, cost).await
    }

    async fn refund(&self, rule: &str, key: &str, cost: u32) {
        RateLimiter::refund(self, rule, key, cost).await
    }
}

/// GCRA as governor computes it. KEYS[1]: the key; ARGV: emission interval (µs),
/// burst, cost (negative: refund). The state is the theoretical arrival time (µs),
/// expiring when it is in the past (a fresh key is the same thing).
/// Returns {allowed, remaining, µs until the quota is full again, µs to wait}.
const GCRA_LUA: &str = r#"
local t = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new = tat + cost * t
if cost < 0 then
  if new > now then
    redis.call('SET', KEYS[1], new, 'PX', math.ceil((new - now) / 1000))
  else
    redis.call('DEL', KEYS[1])
  end
  return {1, 0, 0, 0}
end
if new - now > burst * t then
  return {0, 0, tat - now, new - burst * t - now}
end
redis.call('SET', KEYS[1], new, 'PX', math.ceil((new - now) / 1000))
return {1, math.floor((burst * t - (new - now)) / t), new - now, 0}
"#;

/// governor's state store, with what governor's own stores lack: giving calls back
/// (failed logins are counted by spending first and refunding successes) and dropping
/// keys that are back to a full quota, so memory follows the active clients only.
#[derive(Clone, Default)]
struct Store(Arc<Mutex<StoreInner>>);

#[derive(Default)]
struct StoreInner {
    cells: HashMap<String, Cell>,
    next_sweep: Option<Instant>,
}

struct Cell {
    /// governor's theoretical arrival time, in its own nanoseconds.
    tat: u64,
    touched: Instant,
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, StoreInner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refund(&self, key: &str, amount: Duration) {
        let amount = u64::try_from(amount.as_nanos()).unwrap_or(u64::MAX);
        if let Some(cell) = self.lock().cells.get_mut(key) {
            cell.tat = cell.tat.saturating_sub(amount);
        }
    }

    /// A key untouched for a whole period has earned its full quota back: forget it.
    fn sweep(&self, period: Duration) {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.next_sweep.is_some_and(|at| now < at) {
            return;
        }
        inner
            .cells
            .retain(|_, cell| now.duration_since(cell.touched) < period);
        inner.next_sweep = Some(now + period.min(Duration::from_secs(60)));
    }
}

impl StateStore for Store {
    type Key = String;

    fn measure_and_replace<T, F, E>(&self, key: &String, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut inner = self.lock();
        let current = inner.cells.get(key).map(|c| Nanos::new(c.tat));
        let (outcome, next) = f(current)?;
        let touched = Instant::now();
        match inner.cells.get_mut(key) {
            Some(cell) => {
                cell.tat = next.as_u64();
                cell.touched = touched;
            }
            None => {
                inner.cells.insert(
                    key.clone(),
                    Cell {
                        tat: next.as_u64(),
                        touched,
                    },
                );
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(count: u32, secs: u64) -> RateLimiter {
        RateLimiter::new(
            &[(
                "r",
                Rate {
                    count,
                    period: Duration::from_secs(secs),
                },
            )],
            None,
        )
    }

    #[tokio::test]
    async fn a_burst_then_refusal_and_refunds_give_calls_back() {
        let limiter = limiter(3, 3600);
        for remaining in [2, 1, 0] {
            let v = limiter.take("r", "k", 1).await.unwrap();
            assert!(v.allowed);
            assert_eq!((v.limit, v.remaining), (3, remaining));
        }
        let refused = limiter.take("r", "k", 1).await.unwrap();
        assert!(!refused.allowed);
        assert!(
            (1190..=1200).contains(&refused.retry_after_secs),
            "{refused:?}"
        );
        assert!(
            limiter.take("r", "other", 1).await.unwrap().allowed,
            "keys are separate"
        );
        limiter.refund("r", "k", 1).await;
        assert!(limiter.take("r", "k", 1).await.unwrap().allowed);
        assert!(
            limiter.take("nope", "k", 1).await.is_none(),
            "no rule, no limit"
        );
        assert!(!limiter.take("r", "batch", 4).await.unwrap().allowed);
    }
}
