//! Accounts as mutations check them (there, not suspended, which role), remembered for a
//! moment. The payment service records a thousand payments a second under one account,
//! and each would otherwise read it from the users database first. A change this process
//! makes (role, suspension, profile) forgets the account at its commit; one made by
//! another instance is seen within `REMEMBER`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use super::{GetUsers, User, UsersHandle};
use crate::DomainError;

/// How long an account read is trusted: how late another instance's suspension or role
/// change may take effect here.
const REMEMBER: Duration = Duration::from_secs(1);
/// Accounts remembered at most; beyond, the expired ones go, then all.
const CAPACITY: usize = 10_000;

#[derive(Clone, Default)]
pub struct AccountCache(Arc<Mutex<Accounts>>);

#[derive(Default)]
struct Accounts {
    remembered: HashMap<String, (User, Instant)>,
    /// Counts forgets: a read that started before one is not remembered, since it may
    /// predate the change that forgot.
    forgets: u64,
}

impl AccountCache {
    /// The account `id` as it is now (within `REMEMBER`); None when there is none.
    pub async fn get(&self, users: &UsersHandle, id: &str) -> Result<Option<User>, DomainError> {
        let forgets = {
            let accounts = self.lock();
            if let Some((user, at)) = accounts.remembered.get(id)
                && at.elapsed() < REMEMBER
            {
                return Ok(Some(user.clone()));
            }
            accounts.forgets
        };
        let read_at = Instant::now();
        let found = users
            .send(GetUsers {
                ids: vec![id.to_owned()],
            })
            .await?
            .into_iter()
            .find(|user| user.id == id);
        if let Some(user) = &found {
            let mut accounts = self.lock();
            if accounts.forgets == forgets {
                if accounts.remembered.len() >= CAPACITY {
                    accounts
                        .remembered
                        .retain(|_, (_, at)| at.elapsed() < REMEMBER);
                    if accounts.remembered.len() >= CAPACITY {
                        accounts.remembered.clear();
                    }
                }
                accounts
                    .remembered
                    .insert(user.id.clone(), (user.clone(), read_at));
            }
        }
        Ok(found)
    }

    /// Call after committing a change to the account.
    pub(crate) fn forget(&self, id: &str) {
        let mut accounts = self.lock();
        accounts.forgets += 1;
        accounts.remembered.remove(id);
    }

    fn lock(&self) -> MutexGuard<'_, Accounts> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
