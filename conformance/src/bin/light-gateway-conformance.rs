//! `light-gateway-conformance run --target local|docker|kind|cluster`: proves a deployment of
//! the chart right, check by check, and writes JUnit XML and a YAML report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use light_gateway_conformance::outcome::Outcome;
use light_gateway_conformance::platform::kube::Cluster;
use light_gateway_conformance::platform::local::Binaries;
use light_gateway_conformance::render;
use light_gateway_conformance::runner::Selection;
use light_gateway_conformance::scenario::{self, Scenario};
use light_gateway_conformance::suite::{self, Platform, RunConfig};
use light_gateway_conformance::timeouts::Timeouts;

#[derive(Parser)]
#[command(name = "light-gateway-conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Deploy a scenario on a target and run the checks.
    Run(Box<RunArgs>),
    /// List the checks.
    List,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Where to deploy.
    #[arg(long, value_enum, default_value = "local")]
    target: Platform,
    /// Chart values of the scenario.
    #[arg(long, default_value = "fixtures/values/default.yaml")]
    values: PathBuf,
    /// Runtime config the mock config-server serves ({{backend-a}}, {{backend-b}} filled in).
    #[arg(long, default_value = "fixtures/runtime-config/default.yml")]
    runtime_config: PathBuf,
    /// The chart.
    #[arg(long, default_value = "chart")]
    chart: PathBuf,
    /// Run only these check ids (comma separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Skip these check ids (comma separated).
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Where JUnit XML, the YAML report and artifacts go.
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
    /// Keep what the run made (processes, containers, cluster).
    #[arg(long)]
    keep: bool,
    /// The gateway binary to judge (any build with the same config contract).
    #[arg(long)]
    gateway_bin: Option<PathBuf>,
    /// Directory of the fixture binaries (default: next to this program).
    #[arg(long)]
    fixtures_bin_dir: Option<PathBuf>,
    /// The gateway image (docker, kind, cluster targets); sets the chart's image values.
    #[arg(long)]
    gateway_image: Option<String>,
    /// The fixtures image (docker, kind, cluster targets).
    #[arg(long)]
    fixtures_image: Option<String>,
    /// The kube context (cluster target; default: the current one).
    #[arg(long)]
    kube_context: Option<String>,
    /// The kind cluster config (kind target).
    #[arg(long, default_value = "kind/cluster.yaml")]
    kind_config: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List => {
            for c in light_gateway_conformance::checks::ALL {
                println!("{:<36} {:<10} {}", c.id, c.profile_name(), c.description);
            }
            ExitCode::SUCCESS
        }
        Command::Run(args) => match run(*args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("conformance: {e:#}");
                // A usage error and a run that could not start both leave nothing judged.
                ExitCode::from(2)
            }
        },
    }
}

fn run(args: RunArgs) -> anyhow::Result<bool> {
    let selection = Selection {
        only: args.only.clone(),
        skip: args.skip.clone(),
    };
    let unknown = selection.unknown_ids(light_gateway_conformance::checks::ALL);
    if !unknown.is_empty() {
        let known: Vec<&str> = light_gateway_conformance::checks::ALL.iter().map(|c| c.id).collect();
        anyhow::bail!(
            "unknown check id{} {} in --only/--skip; the checks are: {}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            known.join(", ")
        );
    }
    let here = std::env::current_exe()?.parent().map(PathBuf::from).unwrap_or_default();
    let binaries = Binaries {
        gateway: args.gateway_bin.unwrap_or_else(|| here.join("light-gateway")),
        fixtures: args.fixtures_bin_dir.unwrap_or(here),
    };
    let mut scenario =
        Scenario::load(&args.chart, &args.values, &args.runtime_config).context("failed to read the scenario")?;
    if let Some(image) = &args.gateway_image {
        scenario::merge(&mut scenario.values, &image_values(image)?);
    }
    let renderer = render::detect().context("failed to find a Helm engine")?;
    println!(
        "conformance: target {}, scenario {}, gateway {}, {}",
        args.target.name(),
        args.values.display(),
        binaries.gateway.display(),
        renderer.describe()
    );
    let config = RunConfig {
        target: args.target,
        scenario,
        selection,
        report_dir: Some(args.report_dir.clone()),
        keep: args.keep,
        binaries,
        fixtures_image: args.fixtures_image.unwrap_or_else(suite::default_fixtures_image),
        cluster: match args.target {
            Platform::Cluster => Cluster::Current {
                context: args.kube_context,
            },
            _ => match suite::kind_cluster(std::path::Path::new(".")) {
                Cluster::Kind { name, .. } => Cluster::Kind {
                    name,
                    config: args.kind_config.clone(),
                },
                other => other,
            },
        },
        timeouts: Timeouts::default(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let summary = runtime.block_on(async {
        tokio::select! {
            summary = suite::run(config, renderer.as_ref()) => summary.map(Some),
            _ = tokio::signal::ctrl_c() => Ok(None),
        }
    })?;
    let Some(summary) = summary else {
        // Dropping the runtime kills every child (kill_on_drop); the kernel does the rest.
        eprintln!("conformance: interrupted; everything the run started is stopped");
        return Ok(false);
    };
    println!(
        "reports: {}/conformance-report.yaml, {}/junit.xml",
        args.report_dir.display(),
        args.report_dir.display()
    );
    let nothing_ran = !summary
        .results
        .iter()
        .any(|r| matches!(&r.outcome, Outcome::Passed { .. } | Outcome::Failed { .. }));
    if nothing_ran {
        eprintln!(
            "conformance: no check ran on the {} target (result not-run); see the reasons above",
            args.target.name()
        );
        return Ok(false);
    }
    Ok(summary.ok())
}

/// `repo[:tag]` or `repo@sha256:...` as the chart's `image` values.
fn image_values(image: &str) -> anyhow::Result<serde_json::Value> {
    let (repository, tag, digest) = if let Some((repo, digest)) = image.split_once('@') {
        (repo, "", digest)
    } else {
        // A ':' after the last '/' separates the tag (a registry port comes before a '/').
        match image.rfind(':').filter(|i| !image[*i..].contains('/')) {
            Some(i) => (&image[..i], &image[i + 1..], ""),
            None => (image, "", ""),
        }
    };
    anyhow::ensure!(!repository.is_empty(), "--gateway-image {image:?}: no repository");
    Ok(serde_json::json!({"image": {"repository": repository, "tag": tag, "digest": digest}}))
}

#[cfg(test)]
mod tests {
    use super::image_values;
    use serde_json::json;

    #[test]
    fn gateway_image_becomes_the_chart_image_values() {
        assert_eq!(
            image_values("registry:5000/team/light-gateway:1.2.3").unwrap(),
            json!({"image": {"repository": "registry:5000/team/light-gateway", "tag": "1.2.3", "digest": ""}})
        );
        assert_eq!(image_values("registry:5000/light-gateway").unwrap()["image"]["tag"], "");
        assert_eq!(
            image_values("lg@sha256:abc").unwrap()["image"],
            json!({"repository": "lg", "tag": "", "digest": "sha256:abc"})
        );
        assert!(image_values(":1.0").is_err());
    }
}
