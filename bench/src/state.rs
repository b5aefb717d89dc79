//! What the seeder made, for the drivers: ids, slugs and long-lived tokens.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Result;

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Account {
    pub id: String,
    pub token: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Campaign {
    pub id: String,
    pub slug: String,
    /// Index into `sponsors`: the organizer.
    pub sponsor: usize,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Challenge {
    pub id: String,
    /// Index into `campaigns`.
    pub campaign: usize,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct State {
    pub service: Account,
    pub sponsors: Vec<Account>,
    pub users: Vec<Account>,
    pub campaigns: Vec<Campaign>,
    pub challenges: Vec<Challenge>,
    /// Challenges each user joined while seeding: `challenge_of(user, k)` for k below it.
    pub joins_per_user: usize,
    /// Step between a user's challenges, coprime with the number of challenges.
    pub join_step: usize,
}

impl State {
    pub fn load(path: &Path) -> Result<Self> {
        Ok(serde_json::from_slice(&std::fs::read(path)?)?)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, serde_json::to_vec(self)?)?;
        Ok(())
    }

    /// The k-th challenge of user `u`: distinct for k below the number of challenges.
    pub fn challenge_of(&self, user: usize, k: usize) -> usize {
        challenge_of(self.challenges.len(), self.join_step, user, k)
    }

    /// The sponsor token that may review a participation in `challenge`.
    pub fn organizer_token(&self, challenge: usize) -> &str {
        let campaign = self.challenges[challenge].campaign;
        &self.sponsors[self.campaigns[campaign].sponsor].token
    }
}

pub fn challenge_of(challenges: usize, step: usize, user: usize, k: usize) -> usize {
    (user * 7 + k * step) % challenges.max(1)
}

pub fn coprime_step(n: usize) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    (41..).find(|s| gcd(*s, n.max(1)) == 1).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_challenges_are_distinct() {
        for n in [2000usize, 41, 82, 100] {
            let step = coprime_step(n);
            let seen: std::collections::HashSet<usize> =
                (0..n).map(|k| challenge_of(n, step, 3, k)).collect();
            assert_eq!(seen.len(), n);
        }
    }
}
