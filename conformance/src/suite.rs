//! One suite run: provision the target, run the checks, write the reports, tear down.

use std::path::PathBuf;

use crate::check::Context;
use crate::checks::ALL;
use crate::deployment::Deployment;
use crate::outcome::Outcome;
use crate::platform::docker::{DockerTarget, Images};
use crate::platform::kube::{Cluster, KubeOptions, KubeTarget};
use crate::platform::local::{Binaries, LocalTarget};
use crate::platform::{Target, TargetError};
use crate::render::ChartRenderer;
use crate::report::artifacts::Artifacts;
use crate::report::console::Console;
use crate::report::{Counts, RunInfo, junit, yaml};
use crate::runner::{self, CheckResult, NoArtifacts, Selection};
use crate::scenario::Scenario;
use crate::timeouts::Timeouts;

/// The targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// Processes on 127.0.0.1.
    Local,
    /// Containers on one Docker network.
    Docker,
    /// A kind cluster made for the run.
    Kind,
    /// The current kube context.
    Cluster,
}

impl Platform {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Docker => "docker",
            Self::Kind => "kind",
            Self::Cluster => "cluster",
        }
    }
}

/// What to run.
pub struct RunConfig {
    /// The target.
    pub target: Platform,
    /// The scenario.
    pub scenario: Scenario,
    /// Check selection.
    pub selection: Selection,
    /// Where reports go (none: console only).
    pub report_dir: Option<PathBuf>,
    /// Keep what the run made.
    pub keep: bool,
    /// The binaries (local target).
    pub binaries: Binaries,
    /// The fixtures image (docker, kind and cluster targets).
    pub fixtures_image: String,
    /// Which cluster (kind and cluster targets).
    pub cluster: Cluster,
    /// Waits.
    pub timeouts: Timeouts,
}

/// What a run produced.
pub struct RunSummary {
    /// Every check's result.
    pub results: Vec<CheckResult>,
    /// The YAML report text.
    pub yaml: String,
    /// The JUnit text.
    pub junit: String,
}

impl RunSummary {
    /// Whether something ran and nothing failed (a run where every check was skipped is not ok).
    pub fn ok(&self) -> bool {
        Counts::of(&self.results, None).ok()
    }
}

/// Runs the suite.
///
/// # Errors
/// Only when reports cannot be written; target problems become skipped or failed checks.
pub async fn run(config: RunConfig, renderer: &dyn ChartRenderer) -> std::io::Result<RunSummary> {
    let info = RunInfo {
        target: config.target.name().into(),
        scenario: config.scenario.source.clone(),
        gateway: match config.target {
            Platform::Local => config.binaries.gateway.display().to_string(),
            _ => "the chart's image (image.repository:image.tag)".to_string(),
        },
        suite_version: env!("CARGO_PKG_VERSION").into(),
        renderer: renderer.describe(),
        date: chrono::Utc::now().to_rfc3339(),
    };
    let (results, secrets) = match provision(&config, renderer).await {
        Ok((target, deployment)) => {
            let results = run_on(&config, renderer, target.as_ref(), &deployment).await;
            if !config.keep {
                let _ = target.teardown().await;
            }
            (results, deployment.secrets())
        }
        Err(e) => {
            let results = not_run(&e);
            // The totals line still says what the run amounted to (`not-run` when it was skipped).
            Console::new(ALL.len(), Vec::new()).finish(&results);
            (results, Vec::new())
        }
    };
    let summary = RunSummary {
        yaml: yaml::render(&info, &results, &secrets),
        junit: junit::render(&info, &results, &secrets),
        results,
    };
    if let Some(dir) = &config.report_dir {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("conformance-report.yaml"), &summary.yaml)?;
        std::fs::write(dir.join("junit.xml"), &summary.junit)?;
    }
    Ok(summary)
}

async fn provision(
    config: &RunConfig,
    renderer: &dyn ChartRenderer,
) -> Result<(Box<dyn Target>, Deployment), TargetError> {
    match config.target {
        Platform::Local => {
            let (target, deployment) =
                LocalTarget::provision(&config.scenario, renderer, config.binaries.clone()).await?;
            Ok((Box::new(target), deployment))
        }
        Platform::Docker => {
            let images = Images {
                fixtures: config.fixtures_image.clone(),
            };
            let (target, deployment) = DockerTarget::provision(&config.scenario, renderer, images).await?;
            if config.keep {
                target.keep_on_drop();
            }
            Ok((Box::new(target), deployment))
        }
        Platform::Kind | Platform::Cluster => {
            let options = KubeOptions {
                cluster: config.cluster.clone(),
                fixtures_image: config.fixtures_image.clone(),
                keep: config.keep,
            };
            let (target, deployment) = KubeTarget::provision(&config.scenario, renderer, options).await?;
            Ok((Box::new(target), deployment))
        }
    }
}

async fn run_on(
    config: &RunConfig,
    renderer: &dyn ChartRenderer,
    target: &dyn Target,
    deployment: &Deployment,
) -> Vec<CheckResult> {
    let ctx = Context {
        target,
        deployment,
        timeouts: config.timeouts,
        http: crate::peers::http_client(config.timeouts.request),
        scenario: &config.scenario,
        renderer,
    };
    let mut console = Console::new(ALL.len(), deployment.secrets());
    let results = match &config.report_dir {
        Some(dir) => {
            let artifacts = Artifacts {
                root: dir.join("artifacts"),
            };
            runner::run(&ctx, ALL, &config.selection, artifacts, |c, r| console.progress(c, r)).await
        }
        None => runner::run(&ctx, ALL, &config.selection, NoArtifacts, |c, r| console.progress(c, r)).await,
    };
    console.finish(&results);
    results
}

/// Every check reported as not run, with why: a target that cannot be provisioned runs nothing.
fn not_run(error: &TargetError) -> Vec<CheckResult> {
    let (outcome, note) = match error {
        TargetError::Unavailable(why) => (Outcome::skip(format!("cannot run here: {why}")), why.clone()),
        other => (
            Outcome::fail(format!("the target could not be provisioned: {other}")),
            other.to_string(),
        ),
    };
    eprintln!("conformance: {note}");
    runner::ordered(ALL)
        .into_iter()
        .map(|c| CheckResult {
            id: c.id,
            description: c.description,
            checklist: c.checklist,
            profile: c.profile,
            outcome: outcome.clone(),
            duration: std::time::Duration::ZERO,
            artifacts: None,
        })
        .collect()
}

/// The fixtures image this suite version goes with.
pub fn default_fixtures_image() -> String {
    format!("light-gateway-fixtures:{}", env!("CARGO_PKG_VERSION"))
}

/// The kind cluster a run creates: `kind/cluster.yaml`, a name of its own.
pub fn kind_cluster(workspace: &std::path::Path) -> Cluster {
    Cluster::Kind {
        name: format!("lgc-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        config: workspace.join("kind/cluster.yaml"),
    }
}
