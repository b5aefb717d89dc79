use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use gerak_actors::{
    DomainError,
    campaigns::{Campaign, CampaignsHandle, GetCampaigns},
};

/// Campaigns by id, one message per request batch.
pub struct CampaignLoader(pub CampaignsHandle);

impl Loader<String> for CampaignLoader {
    type Value = Campaign;
    type Error = DomainError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, Campaign>, DomainError> {
        let campaigns = self.0.send(GetCampaigns { ids: ids.to_vec() }).await?;
        Ok(campaigns.into_iter().map(|c| (c.id.clone(), c)).collect())
    }
}
