//! One module per legacy table: what its rows become in the new system.

use gerak_actors::Domain;

use crate::{Importer, LegacyError, batch::Batch, source::LegacyRow};

pub mod campaigns;
pub mod challenges;
pub mod donations;
pub mod members;
pub mod participants;
pub mod reports;
pub mod users;

pub(crate) trait LegacyTable {
    const NAME: &'static str;
    /// The legacy columns read, without `id`.
    const COLUMNS: &'static [&'static str];
    /// The domain database that holds the table's rows and checkpoints.
    const DOMAIN: Domain;

    /// Sees every row read, changed since the last run or not (for totals the summary
    /// needs from the legacy side).
    fn observe(_importer: &mut Importer, _rows: &[LegacyRow]) {}

    /// What a batch becomes. `again`: the batch was done before and its rows changed.
    async fn prepare(
        importer: &mut Importer,
        rows: &[LegacyRow],
        again: bool,
    ) -> Result<Batch, LegacyError>;
}

/// The creation time of a row: the first usable of `candidates`.
pub(crate) fn first_time(candidates: &[Option<&str>]) -> Option<chrono::DateTime<chrono::Utc>> {
    candidates
        .iter()
        .find_map(|raw| crate::clean::jakarta_time(*raw).at())
}

/// The creation time of a row whose loss would cascade (an account, a campaign with its
/// donations, a payment): the first usable of `candidates`, else the Unix epoch, which
/// the new system shows as "unknown" rather than losing the row and what hangs on it.
pub(crate) fn creation_time(
    batch: &mut crate::batch::Batch,
    note: &'static str,
    candidates: &[Option<&str>],
) -> chrono::DateTime<chrono::Utc> {
    first_time(candidates).unwrap_or_else(|| {
        batch.note(note);
        chrono::DateTime::UNIX_EPOCH
    })
}
