//! Test-only fault injection. Without the `fault-injection` feature (the `gerak` binary
//! never enables it) the switch cannot be armed: `trip` compiles to nothing.

#[cfg(feature = "fault-injection")]
use std::sync::{
    Arc,
    atomic::{AtomicU32, Ordering},
};

use super::Domain;

#[derive(Clone, Debug, Default)]
pub struct FaultSwitch {
    #[cfg(feature = "fault-injection")]
    panics_left: Arc<AtomicU32>,
}

impl FaultSwitch {
    /// Makes the next `count` messages handled by this domain panic.
    #[cfg(feature = "fault-injection")]
    pub fn panic_next(&self, count: u32) {
        self.panics_left.store(count, Ordering::SeqCst);
    }

    #[cfg(feature = "fault-injection")]
    pub(crate) fn trip(&self, domain: Domain) {
        let armed = self
            .panics_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if armed {
            panic!("injected fault in the {domain} domain");
        }
    }

    #[cfg(not(feature = "fault-injection"))]
    #[inline(always)]
    pub(crate) fn trip(&self, _domain: Domain) {}
}
