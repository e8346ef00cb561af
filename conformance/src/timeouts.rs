//! Every wait in the suite, named and documented in one place (no magic numbers in checks).

use std::time::Duration;

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
    /// [`Timeouts::convergence`] passes; returns the last success or the last error.
    ///
    /// # Errors
    /// The last error when it did not converge in time.
    pub async fn converge<T, E, F, Fut>(&self, mut probe: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let deadline = tokio::time::Instant::now() + self.convergence;
        let mut interval = self.poll_min;
        let mut streak = 0;
        loop {
            let result = probe().await;
            streak = if result.is_ok() { streak + 1 } else { 0 };
            if streak >= self.consecutive || tokio::time::Instant::now() >= deadline {
                return result;
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
