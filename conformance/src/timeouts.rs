//! Every wait in the suite, named and documented in one place (no magic numbers in checks).

use std::time::Duration;

use crate::outcome::Failure;

/// The suite's waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A Deployment rollout to complete (`kubectl rollout status` default is longer; 300 s is
    /// what the guide's validation expects of a healthy cluster).
    pub rollout: Duration,
    /// A condition to become and stay true (see [`Timeouts::consecutive`]).
    pub convergence: Duration,
    /// How many successes in a row count as converged.
    pub consecutive: u32,
    /// Shortest poll interval; polls back off to [`Timeouts::poll_max`].
    pub poll_min: Duration,
    /// Longest poll interval.
    pub poll_max: Duration,
    /// How long restart counts must stay unchanged to count as stable.
    pub stability_window: Duration,
    /// One HTTP request to the gateway or a fixture.
    pub request: Duration,
    /// A (re)started gateway process or container to become ready or exit (the chart's
    /// startup probe allows 120 s; a gateway with reachable peers needs well under a second).
    pub startup: Duration,
    /// One run of the strict MCP client: a Python interpreter starting and importing the SDK,
    /// the handshake and a few requests.
    pub strict_client: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            rollout: Duration::from_secs(300),
            convergence: Duration::from_secs(30),
            consecutive: 3,
            poll_min: Duration::from_millis(100),
            poll_max: Duration::from_secs(1),
            stability_window: Duration::from_secs(10),
            request: Duration::from_secs(10),
            startup: Duration::from_secs(60),
            strict_client: Duration::from_secs(60),
        }
    }
}

impl Timeouts {
    /// Polls `probe` until it succeeds [`Timeouts::consecutive`] times in a row or
    /// [`Timeouts::convergence`] passes; returns the last success.
    ///
    /// # Errors
    /// The last error when the deadline passes on one; when it passes on a success short of the
    /// streak, a failure saying how many came in a row (one success is not "N in a row").
    pub async fn converge<T, F, Fut>(&self, mut probe: F) -> Result<T, Failure>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Failure>>,
    {
        let deadline = tokio::time::Instant::now() + self.convergence;
        let mut interval = self.poll_min;
        let mut streak = 0;
        loop {
            let result = probe().await;
            streak = if result.is_ok() { streak + 1 } else { 0 };
            if streak >= self.consecutive {
                return result;
            }
            if tokio::time::Instant::now() >= deadline {
                return match result {
                    Err(e) => Err(e),
                    Ok(_) => Err(Failure(format!(
                        "{streak} success(es) in a row of the {} needed within {:?}",
                        self.consecutive, self.convergence
                    ))),
                };
            }
            if result.is_err() {
                interval = (interval * 2).min(self.poll_max);
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Polls `probe` until it succeeds once or [`Timeouts::convergence`] passes.
    ///
    /// # Errors
    /// The last error.
    pub async fn eventually<T, E, F, Fut>(&self, mut probe: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let deadline = tokio::time::Instant::now() + self.convergence;
        let mut interval = self.poll_min;
        loop {
            let result = probe().await;
            if result.is_ok() || tokio::time::Instant::now() >= deadline {
                return result;
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 2).min(self.poll_max);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn quick() -> Timeouts {
        Timeouts {
            convergence: Duration::from_millis(300),
            poll_min: Duration::from_millis(5),
            poll_max: Duration::from_millis(10),
            ..Timeouts::default()
        }
    }

    #[tokio::test]
    async fn alternating_answers_never_converge_even_ending_on_a_success() {
        let calls = AtomicUsize::new(0);
        let start = std::time::Instant::now();
        let timeouts = quick();
        let result = timeouts
            .converge(|| async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                // Misses every other time until the deadline, then answers: the last answer is a
                // success that is not a streak.
                if n.is_multiple_of(2) || start.elapsed() >= timeouts.convergence {
                    Ok(n)
                } else {
                    Err(Failure(format!("miss {n}")))
                }
            })
            .await;
        let error = result.expect_err("never 3 in a row");
        assert!(error.0.contains("in a row"), "{}", error.0);
    }

    #[tokio::test]
    async fn three_in_a_row_converge() {
        let calls = AtomicUsize::new(0);
        let result = quick()
            .converge(|| async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < 2 {
                    Err(Failure("warming up".into()))
                } else {
                    Ok(n)
                }
            })
            .await;
        assert_eq!(result.expect("converged"), 4, "the third success in a row");
    }
}
