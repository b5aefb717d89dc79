//! Admission: at most `max_in_flight` operations execute at once; the others wait their
//! turn for at most `queue_timeout`, then are refused (UNAVAILABLE, HTTP 503, Retry-After)
//! instead of piling up. An overloaded server thus answers "busy" at once and keeps its
//! memory bounded: every execution holds its state until its domains answer, and
//! thousands of them queued behind a busy database once took the process past 1.5 GB.
//! Answers from the response cache skip admission: they cost next to nothing.

use std::{sync::Arc, time::Duration};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Admission {
    permits: Arc<Semaphore>,
    max_in_flight: usize,
    queue_timeout: Duration,
}

/// Held while an operation executes; dropping it lets the next one in.
pub struct Turn(#[expect(dead_code, reason = "held for its drop")] OwnedSemaphorePermit);

impl Admission {
    pub fn new(max_in_flight: usize, queue_timeout: Duration) -> Self {
        let max_in_flight = max_in_flight.max(1);
        Self {
            permits: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
            queue_timeout,
        }
    }

    /// Waits for a turn; `None` when none came within the queue timeout.
    pub async fn enter(&self) -> Option<Turn> {
        // A free permit is taken without touching the timer.
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Some(Turn(permit));
        }
        let waited =
            tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await;
        match waited {
            Ok(Ok(permit)) => Some(Turn(permit)),
            // Timed out (the semaphore is never closed).
            _ => {
                metrics::counter!("gerak_admission_refused_total").increment(1);
                None
            }
        }
    }

    /// Operations executing now.
    pub fn in_flight(&self) -> usize {
        self.max_in_flight - self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_house_refuses_after_the_queue_timeout_and_admits_when_a_turn_ends() {
        let admission = Admission::new(2, Duration::from_millis(20));
        let first = admission.enter().await.expect("a free turn");
        let _second = admission.enter().await.expect("a free turn");
        assert_eq!(admission.in_flight(), 2);
        let started = std::time::Instant::now();
        assert!(admission.enter().await.is_none(), "a third is refused");
        assert!(
            started.elapsed() >= Duration::from_millis(20),
            "after waiting its turn"
        );
        // A turn that ends while another waits is handed over.
        let waiting = tokio::spawn(async move { admission.enter().await.is_some() });
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(first);
        assert!(waiting.await.unwrap(), "the waiting one got the freed turn");
    }
}
