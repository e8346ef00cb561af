//! Tests of the soak's report and verdict.

use super::*;
use crate::soak::tally::Failure;
use std::time::Duration;

const LIMITS: Limits = Limits {
    rss_growth_pct: 5.0,
    fd_margin: 8,
    fd_margin_share: 0.10,
    rate_held_share: 0.95,
};

/// Three 10 s periods at 10 req/s, sampled at 0, 10 and 20 s and at the end.
fn tally(rss: [u64; 4], fds: [u64; 4]) -> Tally {
    let mut tally = Tally::new(Duration::from_secs(10), Duration::from_secs(30));
    for s in 0..30 {
        for _ in 0..10 {
            tally.record(
                Kind::StatelessCall,
                Duration::from_secs(s),
                Duration::from_millis(1),
                Ok(()),
            );
        }
    }
    for (i, (rss_kib, fds)) in rss.into_iter().zip(fds).enumerate() {
        tally.sample(Sample {
            at: Duration::from_secs(10 * i as u64),
            rss_kib,
            fds,
            cpu_s: i as f64,
            machine_jiffies: Some((i as u64 * 50, i as u64 * 100)),
            backend_time_wait: Some(i as u64),
        });
    }
    tally
}

fn judge(tally: &Tally) -> Verdict {
    verdict(tally, &rows(tally), &LIMITS, 10.0, true)
}

#[test]
fn a_steady_run_passes_and_says_the_rate_was_held() {
    let t = tally([10_000, 10_000, 10_200, 10_300], [30, 31, 32, 33]);
    let v = judge(&t);
    assert!(v.passed(), "{v:?}");
    assert!(v.rate.starts_with("rate held: 10 answered"), "{}", v.rate);
    let rows = rows(&t);
    assert_eq!(rows[1].gateway_cpu_pct, Some(10.0));
    assert_eq!(rows[1].machine_busy_pct, Some(50.0));
    let mut table = String::new();
    per_period(&mut table, &rows);
    let lines: Vec<&str> = table.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(lines.len(), 2 + 3);
    assert!(lines.iter().all(|l| l.matches('|').count() == 17), "{table}");
    assert!(
        lines[3].starts_with("| 2 | 100 | 0 | 10 | 0 | 0 | 1.00 | 1.00 | 1.0 | 9.77 |"),
        "{table}"
    );
}

#[test]
fn a_burst_after_minute_2_is_told_beside_the_rss() {
    let mut t = tally([10_000, 10_000, 11_000, 11_000], [30; 4]);
    t.in_flight(Duration::from_secs(12), 4);
    t.in_flight(Duration::from_secs(25), 9);
    let v = judge(&t);
    assert!(
        v.failures()[0].ends_with(
            "up to 9 ops were in flight at once against 4 in it, and memory sized to such a peak may be kept after it"
        ),
        "{v:?}"
    );
    t.in_flight(Duration::from_secs(12), 5);
    assert!(judge(&t).failures()[0].ends_with("(limit < 5%)"));
}

#[test]
fn rss_growing_five_percent_fails() {
    let v = judge(&tally([10_000, 10_000, 10_500, 10_500], [30, 30, 30, 30]));
    assert_eq!(v.failures().len(), 1);
    assert!(v.failures()[0].starts_with("RSS:"), "{v:?}");
}

#[test]
fn fds_beyond_the_margin_at_the_end_fail() {
    // Minute 3's median holds, but the last sample is 9 above minute 2's.
    let v = judge(&tally([10_000; 4], [30, 30, 30, 39]));
    assert!(v.failures()[0].starts_with("open fds:"), "{v:?}");
    assert!(judge(&tally([10_000; 4], [30, 30, 30, 38])).passed());
}

#[test]
fn one_error_fails_and_is_listed_with_its_example() {
    let mut t = tally([10_000; 4], [30; 4]);
    let failure = Failure {
        class: "HTTP 502".to_owned(),
        detail: "502 Bad Gateway (text/plain): upstream | gone".to_owned(),
    };
    t.record(Kind::SessionCall, Duration::from_secs(25), Duration::ZERO, Err(failure));
    let v = judge(&t);
    assert!(!v.passed());
    assert!(v.failures()[0].starts_with("errors: 1 of 301"), "{v:?}");
    let mut out = String::new();
    errors(&mut out, &t);
    assert!(
        out.contains(
            "| legacy tools/call | HTTP 502 | 1 | 3 | 25.0 | `502 Bad Gateway (text/plain): upstream \\| gone` |"
        ),
        "{out}"
    );
}

#[test]
fn a_gateway_that_exited_fails() {
    let t = tally([10_000; 4], [30; 4]);
    assert!(!verdict(&t, &rows(&t), &LIMITS, 10.0, false).passed());
}
