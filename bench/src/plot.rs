//! The PNG chart: throughput by concurrency, one panel per workload, one line per target
//! (median over runs, bars from min to max).

use crate::mcp::{Target, Workload};
use crate::report::Results;
use crate::stats::Spread;
use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;
use std::path::Path;

/// Where a sans-serif TTF is looked for (Debian's fonts-dejavu-core first).
const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

fn register_font() -> Result<()> {
    let path = FONTS
        .iter()
        .find(|p| Path::new(p).is_file())
        .context("no TTF font found: apt-get install fonts-dejavu-core")?;
    let bytes: &'static [u8] = Box::leak(std::fs::read(path)?.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| anyhow!("{path} is not a usable font"))
}

fn color(target: Target) -> RGBColor {
    match target {
        Target::Direct => RGBColor(90, 90, 90),
        Target::Nginx => RGBColor(0, 150, 57),
        Target::Gateway => RGBColor(31, 100, 200),
    }
}

/// Draws the chart into `path` (PNG).
pub fn draw(results: &Results, path: &Path) -> Result<()> {
    register_font()?;
    let workloads = &results.settings.workloads;
    let width = 480 * workloads.len().max(1) as u32;
    let root = BitMapBackend::new(path, (width, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let root = root
        .titled("light-gateway bench: requests/s by concurrency", ("sans-serif", 22))
        .map_err(|e| anyhow!("{e}"))?;
    let panels = root.split_evenly((1, workloads.len().max(1)));
    for (panel, &workload) in panels.iter().zip(workloads) {
        panel_chart(results, workload, panel).map_err(|e| anyhow!("{workload}: {e}"))?;
    }
    root.present().map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
    Ok(())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn panel_chart(results: &Results, workload: Workload, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let conc = &results.settings.concurrency;
    let spreads = |t: Target| -> Vec<(f64, Spread)> {
        conc.iter()
            .enumerate()
            .filter_map(|(i, &c)| Some((i as f64, Spread::of(&results.values(workload, c, t, |r| r.rps()))?)))
            .collect()
    };
    let top = Target::ALL
        .iter()
        .flat_map(|&t| spreads(t))
        .map(|(_, s)| s.max)
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(workload.to_string(), ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d(-0.5f64..conc.len() as f64 - 0.5, 0f64..top * 1.15)?;
    chart
        .configure_mesh()
        .x_labels(conc.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            conc.get(i as usize)
                .filter(|_| (x - i).abs() < 0.01 && i >= 0.0)
                .map_or_else(String::new, |c| c.to_string())
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_desc("connections")
        .y_desc("requests/s")
        .label_style(("sans-serif", 13))
        .draw()?;
    for target in Target::ALL {
        let points = spreads(target);
        let style = color(target);
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|(x, s)| (*x, s.median)),
                style.stroke_width(2),
            ))?
            .label(target.name())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style.stroke_width(2)));
        chart.draw_series(
            points
                .iter()
                .map(|(x, s)| Circle::new((*x, s.median), 4, style.filled())),
        )?;
        chart.draw_series(
            points
                .iter()
                .map(|(x, s)| ErrorBar::new_vertical(*x, s.min, s.median, s.max, style.stroke_width(1), 8)),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}
