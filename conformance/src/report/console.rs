//! The console: a live table with a progress bar on a terminal, plain lines otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::Counts;
use crate::check::Check;
use crate::outcome::Outcome;
use crate::runner::CheckResult;

/// Prints progress and results.
pub struct Console {
    bar: Option<ProgressBar>,
    secrets: Vec<String>,
}

impl Console {
    /// A console for `total` checks; live when stderr is a terminal and CI is not set.
    pub fn new(total: usize, secrets: Vec<String>) -> Self {
        let live = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let bar = live.then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
                bar.set_style(style);
            }
            bar
        });
        Self { bar, secrets }
    }

    /// Reports a check starting (`None`) or done (`Some`).
    pub fn progress(&mut self, check: &Check, result: Option<&CheckResult>) {
        match (result, &self.bar) {
            (None, Some(bar)) => bar.set_message(check.id.to_string()),
            (None, None) => {}
            (Some(r), bar) => {
                let line = line(r, &self.secrets);
                match bar {
                    Some(bar) => {
                        bar.println(line);
                        bar.inc(1);
                    }
                    None => println!("{line}"),
                }
            }
        }
    }

    /// Ends the live part and prints the totals.
    pub fn finish(&self, results: &[CheckResult]) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let c = Counts::of(results, None);
        println!("{:-<100}", "");
        println!(
            "{} checks: {} passed, {} failed, {} skipped -> {}",
            c.total(),
            c.passed,
            c.failed,
            c.skipped,
            c.result()
        );
    }
}

fn line(r: &CheckResult, secrets: &[String]) -> String {
    let mark = match r.outcome {
        Outcome::Passed { .. } => "PASS",
        Outcome::Failed { .. } => "FAIL",
        Outcome::Skipped { .. } => "SKIP",
    };
    let detail = super::redact::redact(r.outcome.detail(), secrets);
    let detail: String = detail.lines().next().unwrap_or_default().chars().take(120).collect();
    format!(
        "{mark}  {:<10} {:<36} {:>6.1}s  {detail}",
        r.profile_name(),
        r.id,
        r.duration.as_secs_f64()
    )
}
