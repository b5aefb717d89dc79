use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use gerak_actors::{
    DomainError,
    challenges::{
        Challenge, ChallengeStatus, ChallengesHandle, ChallengesOfCampaigns, GetChallenges,
        GetParticipations, LeaderboardEntry, Leaderboards, Page, Participation,
        ParticipationsOfUser,
    },
};

/// Challenges by id.
pub struct ChallengeLoader(pub ChallengesHandle);

impl Loader<String> for ChallengeLoader {
    type Value = Challenge;
    type Error = DomainError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, Challenge>, DomainError> {
        let found = self.0.send(GetChallenges { ids: ids.to_vec() }).await?;
        Ok(found.into_iter().map(|c| (c.id.clone(), c)).collect())
    }
}

/// Participations by id.
pub struct ParticipationLoader(pub ChallengesHandle);

impl Loader<String> for ParticipationLoader {
    type Value = Participation;
    type Error = DomainError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, Participation>, DomainError> {
        let found = self.0.send(GetParticipations { ids: ids.to_vec() }).await?;
        Ok(found.into_iter().map(|p| (p.id.clone(), p)).collect())
    }
}

/// The first page of a campaign's challenges, as one campaign asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChallengesKey {
    pub campaign_id: String,
    pub status: Option<ChallengeStatus>,
    pub include_hidden: bool,
    pub include_drafts: bool,
    pub first: u64,
}

/// First pages of challenges for many campaigns: one message per distinct page shape
/// (usually one for a whole list of campaigns).
pub struct CampaignChallengesLoader(pub ChallengesHandle);

impl Loader<ChallengesKey> for CampaignChallengesLoader {
    type Value = Page<Challenge>;
    type Error = DomainError;

    async fn load(
        &self,
        keys: &[ChallengesKey],
    ) -> Result<HashMap<ChallengesKey, Page<Challenge>>, DomainError> {
        let mut shapes: HashMap<(Option<ChallengeStatus>, bool, bool, u64), Vec<String>> =
            HashMap::new();
        for key in keys {
            shapes
                .entry((
                    key.status,
                    key.include_hidden,
                    key.include_drafts,
                    key.first,
                ))
                .or_default()
                .push(key.campaign_id.clone());
        }
        let mut pages = HashMap::with_capacity(keys.len());
        for ((status, include_hidden, include_drafts, first), campaign_ids) in shapes {
            let found = self
                .0
                .send(ChallengesOfCampaigns {
                    campaign_ids,
                    status,
                    include_hidden,
                    include_drafts,
                    first,
                })
                .await?;
            for (campaign_id, page) in found {
                let key = ChallengesKey {
                    campaign_id,
                    status,
                    include_hidden,
                    include_drafts,
                    first,
                };
                pages.insert(key, page);
            }
        }
        Ok(pages)
    }
}

/// A user's participation in a challenge, keyed (user, challenge).
pub struct MyParticipationLoader(pub ChallengesHandle);

impl Loader<(String, String)> for MyParticipationLoader {
    type Value = Participation;
    type Error = DomainError;

    async fn load(
        &self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), Participation>, DomainError> {
        let mut by_user: HashMap<&str, Vec<String>> = HashMap::new();
        for (user, challenge) in keys {
            by_user.entry(user).or_default().push(challenge.clone());
        }
        let mut found = HashMap::new();
        for (user_id, challenge_ids) in by_user {
            let participations = self
                .0
                .send(ParticipationsOfUser {
                    user_id: user_id.to_owned(),
                    challenge_ids,
                })
                .await?;
            for p in participations {
                found.insert((p.user_id.clone(), p.challenge_id.clone()), p);
            }
        }
        Ok(found)
    }
}

/// The top `first` of campaigns' leaderboards, keyed (campaign, first).
pub struct LeaderboardLoader(pub ChallengesHandle);

impl Loader<(String, u64)> for LeaderboardLoader {
    type Value = Vec<LeaderboardEntry>;
    type Error = DomainError;

    async fn load(
        &self,
        keys: &[(String, u64)],
    ) -> Result<HashMap<(String, u64), Vec<LeaderboardEntry>>, DomainError> {
        let mut by_size: HashMap<u64, Vec<String>> = HashMap::new();
        for (campaign, first) in keys {
            by_size.entry(*first).or_default().push(campaign.clone());
        }
        let mut boards = HashMap::new();
        for (first, campaign_ids) in by_size {
            for (campaign_id, entries) in self
                .0
                .send(Leaderboards {
                    campaign_ids,
                    first,
                })
                .await?
            {
                boards.insert((campaign_id, first), entries);
            }
        }
        Ok(boards)
    }
}
