use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use gerak_actors::{
    DomainError,
    donations::{Donation, DonationsHandle, GetDonations},
};

/// Donations by id.
pub struct DonationLoader(pub DonationsHandle);

impl Loader<String> for DonationLoader {
    type Value = Donation;
    type Error = DomainError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, Donation>, DomainError> {
        let found = self.0.send(GetDonations { ids: ids.to_vec() }).await?;
        Ok(found.into_iter().map(|d| (d.id.clone(), d)).collect())
    }
}
