//! Runs checks against a target: skip policy (features of the target, the scenario and the
//! machine, --only/--skip), order (disruptive last), timing, and artifacts for failures.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::check::{Check, Context, Feature, Profile, Provider};
use crate::outcome::Outcome;

/// Which checks to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Run only these ids (empty: all).
    pub only: Vec<String>,
    /// Never run these ids.
    pub skip: Vec<String>,
}

/// One check's result.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check's id.
    pub id: &'static str,
    /// Its description.
    pub description: &'static str,
    /// The checklist line.
    pub checklist: &'static str,
    /// Its profile.
    pub profile: Profile,
    /// What happened.
    pub outcome: Outcome,
    /// How long it took.
    pub duration: Duration,
    /// Where its artifacts are (failures only).
    pub artifacts: Option<PathBuf>,
}

impl Selection {
    /// The ids of `--only` and `--skip` that name no check in `checks`, in the order given.
    pub fn unknown_ids(&self, checks: &[&'static Check]) -> Vec<String> {
        self.only
            .iter()
            .chain(&self.skip)
            .filter(|id| !checks.iter().any(|c| c.id == id.as_str()))
            .cloned()
            .collect()
    }
}

/// What a run offers its checks: the target's features, the scenario's and the environment's,
/// and why each environment feature it lacks is missing (the skip reason says how to fix it).
#[derive(Debug, Clone, Default)]
pub struct Offered {
    /// The features present.
    pub features: Vec<Feature>,
    /// Environment features that are absent, with why.
    pub absent: Vec<(Feature, String)>,
}

impl Offered {
    /// What `ctx` offers to `checks`: the strict MCP client is probed (once per process) only
    /// when one of them needs it.
    pub async fn of(ctx: &Context<'_>, checks: &[&'static Check]) -> Self {
        let mut offered = Self {
            features: ctx.target.features().to_vec(),
            absent: Vec::new(),
        };
        if ctx.scenario.protects_mcp() {
            offered.features.push(Feature::ProtectedMcp);
        }
        let existing_secret = ctx
            .deployment
            .values
            .get("existingSecret")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|s| !s.is_empty());
        if !existing_secret {
            offered.features.push(Feature::ChartSecret);
        }
        if checks.iter().any(|c| c.features.contains(&Feature::StrictMcpClient)) {
            match crate::mcp::strict::shared().await {
                Ok(_) => offered.features.push(Feature::StrictMcpClient),
                Err(e) => offered.absent.push((Feature::StrictMcpClient, e.to_string())),
            }
        }
        offered
    }
}

/// Why `check` does not run on this target with this selection, if it does not.
pub fn skip_reason(check: &Check, target: &str, offered: &Offered, selection: &Selection) -> Option<String> {
    if !selection.only.is_empty() && !selection.only.iter().any(|id| id == check.id) {
        return Some("not selected (--only)".into());
    }
    if selection.skip.iter().any(|id| id == check.id) {
        return Some("excluded (--skip)".into());
    }
    let missing: Vec<Feature> = check
        .features
        .iter()
        .copied()
        .filter(|f| !offered.features.contains(f))
        .collect();
    if let Some(why) = missing.iter().find_map(|f| f.scenario_absence()) {
        return Some(why.into());
    }
    if let Some(feature) = missing.iter().find(|f| f.provider() == Provider::Environment) {
        let why = offered
            .absent
            .iter()
            .find(|(f, _)| f == feature)
            .map_or("not probed", |(_, why)| why.as_str());
        return Some(format!("this machine has no {}: {why}", feature.name()));
    }
    if missing.is_empty() {
        None
    } else {
        let names: Vec<&str> = missing.iter().map(|f| f.name()).collect();
        Some(format!("the {target} target has no {}", names.join(", ")))
    }
}

/// The order checks run in: the registry's, with disruptive checks last.
pub fn ordered(checks: &[&'static Check]) -> Vec<&'static Check> {
    let mut out: Vec<&'static Check> = checks.iter().copied().filter(|c| !c.disruptive).collect();
    out.extend(checks.iter().copied().filter(|c| c.disruptive));
    out
}

/// Runs `checks`; `progress` hears about each one before (`None`) and after (`Some`) it runs.
pub async fn run(
    ctx: &Context<'_>,
    checks: &[&'static Check],
    selection: &Selection,
    mut collect: impl AsyncCollect,
    mut progress: impl FnMut(&Check, Option<&CheckResult>),
) -> Vec<CheckResult> {
    let offered = Offered::of(ctx, checks).await;
    let mut results = Vec::new();
    for check in ordered(checks) {
        progress(check, None);
        let started = Instant::now();
        let outcome = match skip_reason(check, ctx.target.name(), &offered, selection) {
            Some(reason) => Outcome::skip(reason),
            None => match (check.run)(ctx).await {
                Ok(evidence) => Outcome::pass(evidence),
                Err(failure) => Outcome::fail(failure.0),
            },
        };
        let artifacts = match outcome {
            Outcome::Failed { .. } => collect.collect(ctx, check.id).await,
            _ => None,
        };
        let result = CheckResult {
            id: check.id,
            description: check.description,
            checklist: check.checklist,
            profile: check.profile,
            outcome,
            duration: started.elapsed(),
            artifacts,
        };
        progress(check, Some(&result));
        results.push(result);
    }
    results
}

/// Gathers artifacts for a failed check.
#[async_trait::async_trait]
pub trait AsyncCollect {
    /// Writes the artifacts of `id` and returns their folder.
    async fn collect(&mut self, ctx: &Context<'_>, id: &str) -> Option<PathBuf>;
}

/// Collects nothing.
pub struct NoArtifacts;

#[async_trait::async_trait]
impl AsyncCollect for NoArtifacts {
    async fn collect(&mut self, _ctx: &Context<'_>, _id: &str) -> Option<PathBuf> {
        None
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
