//! The soak's accounting, per period (a minute unless told otherwise): answered requests and
//! errors by request kind, latencies, requests the generator could not send in time, and the
//! gateway's samples (RSS, open fds, CPU time) taken in it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// One request of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// tools/call in the 2026-07-28 era (no session).
    StatelessCall,
    /// tools/list in the 2026-07-28 era.
    StatelessList,
    /// initialize, opening a legacy session.
    Initialize,
    /// notifications/initialized in that session.
    Initialized,
    /// tools/call with `Mcp-Session-Id`.
    SessionCall,
    /// DELETE, closing the session.
    Delete,
}

impl Kind {
    /// Every kind, in table order.
    pub const ALL: [Kind; 6] = [
        Kind::StatelessCall,
        Kind::StatelessList,
        Kind::Initialize,
        Kind::Initialized,
        Kind::SessionCall,
        Kind::Delete,
    ];

    /// How the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::StatelessCall => "stateless tools/call",
            Kind::StatelessList => "stateless tools/list",
            Kind::Initialize => "legacy initialize",
            Kind::Initialized => "legacy notifications/initialized",
            Kind::SessionCall => "legacy tools/call",
            Kind::Delete => "legacy DELETE",
        }
    }
}

/// Why a request counts as an error: a class to count it under and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `HTTP 503`, `JSON-RPC error -32603`, `transport: timed out`, ...
    pub class: String,
    /// The answer or error, shortened.
    pub detail: String,
}

/// The gateway as read from `/proc` at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Since the load started.
    pub at: Duration,
    /// VmRSS, KiB.
    pub rss_kib: u64,
    /// Entries of `/proc/<pid>/fd`.
    pub fds: u64,
    /// The gateway's user + system CPU time so far, seconds.
    pub cpu_s: f64,
    /// `(busy, total)` jiffies of the whole machine so far.
    pub machine_jiffies: Option<(u64, u64)>,
    /// Sockets in TIME_WAIT towards the backend's port.
    pub backend_time_wait: Option<u64>,
}

/// What happened in one period.
#[derive(Debug, Clone, Default)]
pub struct Period {
    /// Answered requests (successes and errors) by kind.
    pub requests: BTreeMap<Kind, u64>,
    /// Errors by kind and class.
    pub errors: BTreeMap<(Kind, String), u64>,
    /// Latency of every answered request, microseconds.
    pub latencies_us: Vec<u32>,
    /// Requests due that the generator did not send (it had fallen more than a second behind).
    pub unsent: u64,
    /// The most ops in flight at once: a burst shows here (the gateway or the machine stalled
    /// and the due requests piled up).
    pub most_in_flight: u64,
    /// The gateway's samples.
    pub samples: Vec<Sample>,
}

impl Period {
    /// Answered requests.
    pub fn answered(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Errors.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// How many examples are kept per kind and class of error.
const EXAMPLES: usize = 3;

/// An error as first seen: when, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Since the load started.
    pub at: Duration,
    /// The failure's detail.
    pub detail: String,
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Length of a period.
    pub period: Duration,
    /// Length of the load.
    pub duration: Duration,
    /// Every period, in order; the last may be shorter.
    pub periods: Vec<Period>,
    /// The first errors of each kind and class.
    pub examples: BTreeMap<(Kind, String), Vec<Example>>,
    /// Latencies over the whole run by kind, microseconds.
    pub latencies_by_kind: BTreeMap<Kind, Vec<u32>>,
}

impl Tally {
    /// Empty periods covering `duration`.
    pub fn new(period: Duration, duration: Duration) -> Tally {
        let count = duration.as_nanos().div_ceil(period.as_nanos().max(1)).max(1);
        Tally {
            period,
            duration,
            periods: vec![Period::default(); usize::try_from(count).unwrap_or(usize::MAX)],
            examples: BTreeMap::new(),
            latencies_by_kind: BTreeMap::new(),
        }
    }

    /// The period `at` falls in; anything after the end counts in the last.
    fn index(&self, at: Duration) -> usize {
        let i = at.as_nanos() / self.period.as_nanos().max(1);
        usize::try_from(i).unwrap_or(usize::MAX).min(self.periods.len() - 1)
    }

    /// How long period `i` lasts (the last one only up to the end of the load).
    pub fn span(&self, i: usize) -> Duration {
        let start = self.period * u32::try_from(i).unwrap_or(u32::MAX);
        self.duration.saturating_sub(start).min(self.period)
    }

    /// A request sent `at`, answered after `latency`.
    pub fn record(&mut self, kind: Kind, at: Duration, latency: Duration, outcome: Result<(), Failure>) {
        let i = self.index(at);
        let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        let period = &mut self.periods[i];
        *period.requests.entry(kind).or_default() += 1;
        period.latencies_us.push(micros);
        self.latencies_by_kind.entry(kind).or_default().push(micros);
        if let Err(failure) = outcome {
            let key = (kind, failure.class);
            *period.errors.entry(key.clone()).or_default() += 1;
            let examples = self.examples.entry(key).or_default();
            if examples.len() < EXAMPLES {
                examples.push(Example {
                    at,
                    detail: failure.detail,
                });
            }
        }
    }

    /// `count` requests due `at` that were not sent.
    pub fn unsent(&mut self, at: Duration, count: u64) {
        let i = self.index(at);
        self.periods[i].unsent += count;
    }

    /// `count` ops in flight `at`.
    pub fn in_flight(&mut self, at: Duration, count: u64) {
        let i = self.index(at);
        self.periods[i].most_in_flight = self.periods[i].most_in_flight.max(count);
    }

    /// A sample of the gateway.
    pub fn sample(&mut self, sample: Sample) {
        let i = self.index(sample.at);
        self.periods[i].samples.push(sample);
    }

    /// Every sample, in order.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.periods.iter().flat_map(|p| p.samples.iter())
    }

    /// Answered requests and errors over the run.
    pub fn totals(&self) -> (u64, u64) {
        let answered = self.periods.iter().map(Period::answered).sum();
        let errors = self.periods.iter().map(Period::error_count).sum();
        (answered, errors)
    }
}

/// The tally shared by the tasks of the load, with the instant the load started.
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    tally: Arc<Mutex<Tally>>,
}

impl Recorder {
    /// Records into `tally`, times counted from `start`.
    pub fn new(start: Instant, tally: Tally) -> Recorder {
        Recorder {
            start,
            tally: Arc::new(Mutex::new(tally)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Since the load started.
    pub fn since_start(&self, instant: Instant) -> Duration {
        instant.saturating_duration_since(self.start)
    }

    /// A request sent at `sent` and answered (or failed) now.
    pub fn record(&self, kind: Kind, sent: Instant, outcome: Result<(), Failure>) {
        let latency = sent.elapsed();
        let at = self.since_start(sent);
        self.lock().record(kind, at, latency, outcome);
    }

    /// `count` requests due now that are not sent.
    pub fn unsent(&self, count: u64) {
        let at = self.since_start(Instant::now());
        self.lock().unsent(at, count);
    }

    /// `count` ops in flight now.
    pub fn in_flight(&self, count: u64) {
        let at = self.since_start(Instant::now());
        self.lock().in_flight(at, count);
    }

    /// A sample of the gateway.
    pub fn sample(&self, sample: Sample) {
        self.lock().sample(sample);
    }

    /// A copy of the tally so far.
    pub fn snapshot(&self) -> Tally {
        self.lock().clone()
    }
}

/// The nearest-rank `q` quantile (0..=1) of `values`, sorting them; `None` when empty.
pub fn quantile(values: &mut [u32], q: f64) -> Option<u32> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = (q * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// The median of `values`, `None` when empty (the lower middle of an even count: a value seen).
pub fn median(values: &mut [u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn failure(class: &str) -> Failure {
        Failure {
            class: class.to_owned(),
            detail: format!("seen: {class}"),
        }
    }

    #[test]
    fn requests_fall_in_the_period_they_were_sent_in() {
        let mut tally = Tally::new(Duration::from_secs(60), Duration::from_secs(150));
        assert_eq!(tally.periods.len(), 3);
        let ms = Duration::from_millis(2);
        tally.record(Kind::StatelessCall, Duration::from_secs(59), ms, Ok(()));
        tally.record(Kind::StatelessCall, Duration::from_secs(60), ms, Ok(()));
        tally.record(Kind::Delete, Duration::from_secs(200), ms, Err(failure("HTTP 500")));
        let answered: Vec<u64> = tally.periods.iter().map(Period::answered).collect();
        assert_eq!(answered, [1, 1, 1]);
        assert_eq!(tally.totals(), (3, 1));
        assert_eq!(tally.span(2), Duration::from_secs(30));
        tally.in_flight(Duration::from_secs(61), 7);
        tally.in_flight(Duration::from_secs(62), 3);
        assert_eq!(tally.periods[1].most_in_flight, 7);
    }

    #[test]
    fn errors_are_counted_by_kind_and_class_with_the_first_examples_kept() {
        let mut tally = Tally::new(Duration::from_secs(10), Duration::from_secs(10));
        for _ in 0..5 {
            tally.record(
                Kind::SessionCall,
                Duration::ZERO,
                Duration::ZERO,
                Err(failure("HTTP 404")),
            );
        }
        tally.record(
            Kind::Initialize,
            Duration::ZERO,
            Duration::ZERO,
            Err(failure("HTTP 404")),
        );
        let errors = &tally.periods[0].errors;
        assert_eq!(errors[&(Kind::SessionCall, "HTTP 404".to_owned())], 5);
        assert_eq!(errors[&(Kind::Initialize, "HTTP 404".to_owned())], 1);
        assert_eq!(
            tally.examples[&(Kind::SessionCall, "HTTP 404".to_owned())].len(),
            EXAMPLES
        );
    }

    #[rstest]
    #[case(&[5], 0.99, 5)]
    #[case(&[4, 1, 3, 2], 0.5, 2)]
    #[case(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99, 10)]
    #[case(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9)]
    fn quantiles_are_nearest_rank(#[case] values: &[u32], #[case] q: f64, #[case] expected: u32) {
        assert_eq!(quantile(&mut values.to_vec(), q), Some(expected));
    }

    #[test]
    fn nothing_has_no_quantile_or_median() {
        assert_eq!(quantile(&mut [], 0.5), None);
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [30, 10, 20, 40]), Some(20));
    }
}
