//! `bench --html FILE`: one self-contained HTML page of a run (SPEC §12).
//!
//! Charts are SVG drawn by plotters and inlined; there is no script from
//! anywhere, no stylesheet or font from the network. The page has:
//! each mode's latency per query as box plots (quartiles, whiskers at
//! 1.5 IQR) on a log axis, beside the baseline's with `--compare`; the
//! throughput curve by clients; the workload's hit rate against the
//! oracle; with `--history`, each query's indexed p50 across the saved
//! runs; and the numbers of every chart in tables, whose cells carry
//! `data-*` attributes so that a test can read them back from a browser's
//! DOM and compare them with the JSON.

use std::fmt::Write as _;

use plotters::prelude::*;
use serde_json::Value;

use crate::compare::{Comparison, MODES, Run};

/// Colours of this run and of the baseline.
const THIS: RGBColor = RGBColor(31, 119, 180);
const BASE: RGBColor = RGBColor(255, 127, 14);

/// Everything the page shows.
pub struct Page<'a> {
    /// This run's JSON report.
    pub report: &'a Value,
    /// This run, as `compare` reads it.
    pub run: &'a Run,
    /// The baseline and the comparison, with `--compare`.
    pub baseline: Option<(&'a Run, &'a Comparison)>,
    /// Earlier runs, oldest first, with `--history` (this run last).
    pub history: &'a [Run],
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

type ChartResult = Result<(), Box<dyn std::error::Error>>;

/// A category axis label: the name itself.
fn segment_label(v: &SegmentValue<&String>) -> String {
    match v {
        SegmentValue::Exact(s) | SegmentValue::CenterOf(s) => (*s).clone(),
        SegmentValue::Last => String::new(),
    }
}

/// Box plots of one mode: a row per query, this run (and the baseline).
fn latency_chart(svg: &mut String, page: &Page<'_>, mode: &str) -> ChartResult {
    let series: Vec<_> = page.run.series.iter().filter(|s| s.mode == mode).collect();
    if series.is_empty() {
        return Ok(());
    }
    let base: Vec<_> = page
        .baseline
        .map(|(b, _)| b.series.iter().filter(|s| s.mode == mode).collect())
        .unwrap_or_default();
    let all = series
        .iter()
        .chain(base.iter())
        .flat_map(|s| s.samples.iter().copied());
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = ((lo.max(1e-5) / 1.5) as f32, (hi * 1.5).max(lo * 2.0) as f32);
    let names: Vec<String> = series.iter().map(|s| s.query.clone()).collect();
    let height = 80 + 46 * names.len() as u32;
    let root = SVGBackend::with_string(svg, (960, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{mode}: latency per call (ms, log scale)"),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(250)
        .build_cartesian_2d((lo..hi).log_scale(), names[..].into_segmented())?;
    chart
        .configure_mesh()
        .x_desc("milliseconds")
        .x_label_formatter(&|v| format!("{v}"))
        .y_labels(names.len())
        .y_label_formatter(&segment_label)
        .draw()?;
    let offset = if base.is_empty() { 0.0 } else { 9.0 };
    chart.draw_series(series.iter().enumerate().map(|(i, s)| {
        let q = Quartiles::new(&s.samples);
        Boxplot::new_horizontal(SegmentValue::CenterOf(&names[i]), &q)
            .width(14)
            .offset(offset)
            .style(THIS)
    }))?;
    if !base.is_empty() {
        chart.draw_series(names.iter().filter_map(|name| {
            let s = base.iter().find(|s| &s.query == name)?;
            let q = Quartiles::new(&s.samples);
            Some(
                Boxplot::new_horizontal(SegmentValue::CenterOf(name), &q)
                    .width(14)
                    .offset(-offset)
                    .style(BASE),
            )
        }))?;
    }
    root.present()?;
    Ok(())
}

/// Calls per second by clients.
fn throughput_chart(svg: &mut String, points: &[(u32, f64)]) -> ChartResult {
    if points.is_empty() {
        return Ok(());
    }
    let max = points.iter().map(|p| p.1).fold(0.0, f64::max) * 1.15;
    let root = SVGBackend::with_string(svg, (960, 360)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "throughput by concurrent clients (calls/s)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d((1u32..80u32).log_scale(), 0.0..max.max(1.0))?;
    chart
        .configure_mesh()
        .x_desc("clients")
        .y_desc("calls/s")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    chart
        .draw_series(LineSeries::new(points.iter().copied(), THIS.stroke_width(2)).point_size(4))?;
    root.present()?;
    Ok(())
}

/// Hit rate against the oracle, per workload.
fn hit_rate_chart(svg: &mut String, rows: &[(String, f64, f64)]) -> ChartResult {
    if rows.is_empty() {
        return Ok(());
    }
    let labels: Vec<String> = rows
        .iter()
        .flat_map(|(name, _, _)| [format!("{name}: cache"), format!("{name}: oracle")])
        .collect();
    let root = SVGBackend::with_string(svg, (960, 300)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "hit rate against a perfect cache (oracle)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(labels[..].into_segmented(), 0.0..1.0f64)?;
    chart
        .configure_mesh()
        .y_desc("share of reads")
        .x_label_formatter(&segment_label)
        .draw()?;
    for (parity, color) in [(0, THIS), (1, BASE)] {
        chart.draw_series(
            Histogram::vertical(&chart)
                .style(color.filled())
                .margin(40)
                .data(
                    labels
                        .iter()
                        .zip(rows.iter().flat_map(|(_, h, o)| [*h, *o]))
                        .enumerate()
                        .filter(|(i, _)| i % 2 == parity)
                        .map(|(_, (label, v))| (label, v)),
                ),
        )?;
    }
    root.present()?;
    Ok(())
}

/// Each query's indexed p50 across the history.
fn trend_chart(svg: &mut String, history: &[Run]) -> ChartResult {
    if history.len() < 2 {
        return Ok(());
    }
    let queries: Vec<String> = history
        .iter()
        .flat_map(|r| {
            r.series
                .iter()
                .filter(|s| s.mode == "indexed")
                .map(|s| s.query.clone())
        })
        .fold(Vec::new(), |mut v, q| {
            if !v.contains(&q) {
                v.push(q);
            }
            v
        });
    let p50 = |r: &Run, q: &str| {
        r.series
            .iter()
            .find(|s| s.mode == "indexed" && s.query == q)
            .map(|s| s.p50_ms)
    };
    let values: Vec<f64> = history
        .iter()
        .flat_map(|r| queries.iter().filter_map(|q| p50(r, q)))
        .filter(|v| *v > 0.0)
        .collect();
    let lo = values.iter().copied().fold(f64::MAX, f64::min) / 1.5;
    let hi = values.iter().copied().fold(0.0, f64::max) * 1.5;
    let root = SVGBackend::with_string(svg, (960, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "indexed p50 across runs (ms, log scale)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(
            0..history.len() - 1,
            (lo.max(1e-5)..hi.max(lo * 2.0)).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("run (oldest first)")
        .y_label_formatter(&|v| format!("{v:.3}"))
        .draw()?;
    for (i, q) in queries.iter().enumerate() {
        let color = Palette99::pick(i);
        chart
            .draw_series(LineSeries::new(
                history
                    .iter()
                    .enumerate()
                    .filter_map(|(x, r)| p50(r, q).map(|v| (x, v))),
                color.stroke_width(2),
            ))?
            .label(q.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn section(out: &mut String, title: &str, svg: &str) {
    if !svg.is_empty() {
        let _ = write!(
            out,
            "<section class=\"chart\"><h2>{}</h2>\n{svg}\n</section>\n",
            esc(title)
        );
    }
}

/// Renders the page.
///
/// # Errors
/// A chart that could not be drawn.
pub fn render(page: &Page<'_>) -> Result<String, Box<dyn std::error::Error>> {
    let r = page.report;
    let mut out = String::new();
    let title = format!(
        "neonhub-db bench: {} {} {}",
        page.run.backend, page.run.scale, page.run.started_at
    );
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
         body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}\
         td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         .this{{color:#1f77b4}}.base{{color:#ff7f0e}}.slower{{background:#fdd}}.faster{{background:#dfd}}\
         </style></head><body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        out,
        "<p>machine {} ({} CPUs), commit {}, neonhub-db {}.{}</p>",
        esc(&page.run.hostname),
        page.run.cpus,
        esc(page.run.git_commit.as_deref().unwrap_or("unknown")),
        esc(r.get("version").and_then(Value::as_str).unwrap_or("?")),
        match page.baseline {
            Some((b, _)) => format!(
                " <span class=\"this\">■ this run</span> against <span class=\"base\">■ baseline {} ({})</span>",
                esc(&b.label),
                esc(b.git_commit.as_deref().unwrap_or("unknown"))
            ),
            None => String::new(),
        }
    );
    // The numbers, first: one row per query and mode.
    out.push_str("<h2>latency (ms)</h2>\n<table id=\"latency\"><tr><th>query</th><th>mode</th><th>p50</th><th>p95</th><th>calls</th></tr>\n");
    for s in &page.run.series {
        let _ = writeln!(
            out,
            "<tr data-query=\"{q}\" data-mode=\"{m}\"><td>{q}</td><td>{m}</td><td data-p50=\"{p50}\">{p50:.4}</td><td data-p95=\"{p95}\">{p95:.4}</td><td>{n}</td></tr>",
            q = esc(&s.query),
            m = s.mode,
            p50 = s.p50_ms,
            p95 = s.p95_ms,
            n = s.samples.len()
        );
    }
    out.push_str("</table>\n");
    if let Some((_, c)) = page.baseline {
        out.push_str("<h2>against the baseline</h2>\n<table id=\"compare\"><tr><th>query</th><th>mode</th><th>p50 base</th><th>p50 now</th><th>ratio</th><th>95% CI</th><th>verdict</th></tr>\n");
        for row in &c.rows {
            let _ = writeln!(
                out,
                "<tr class=\"{v}\" data-query=\"{q}\" data-mode=\"{m}\" data-verdict=\"{v}\"><td>{q}</td><td>{m}</td><td>{b:.4}</td><td>{n:.4}</td><td data-ratio=\"{ratio}\">{ratio:.3}</td><td>[{lo:.3}, {hi:.3}]</td><td>{v}</td></tr>",
                v = row.verdict,
                q = esc(&row.query),
                m = row.mode,
                b = row.base_p50_ms,
                n = row.new_p50_ms,
                ratio = row.p50_ratio,
                lo = row.ci_low,
                hi = row.ci_high
            );
        }
        let _ = writeln!(out, "</table>\n<p>{}</p>", esc(c.method));
    }
    let mut svg = String::new();
    for mode in MODES {
        svg.clear();
        latency_chart(&mut svg, page, mode)?;
        section(&mut out, &format!("latency: {mode}"), &svg);
    }
    let throughput: Vec<(u32, f64)> = r
        .get("concurrency")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| {
                    Some((
                        u32::try_from(t.get("clients")?.as_u64()?).ok()?,
                        t.get("calls_per_s")?.as_f64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    out.push_str("<table id=\"throughput\"><tr><th>clients</th><th>calls/s</th></tr>\n");
    for (clients, calls) in &throughput {
        let _ = writeln!(
            out,
            "<tr><td>{clients}</td><td data-clients=\"{clients}\" data-calls-per-s=\"{calls}\">{calls:.0}</td></tr>"
        );
    }
    out.push_str("</table>\n");
    svg.clear();
    throughput_chart(&mut svg, &throughput)?;
    section(&mut out, "throughput", &svg);
    let mut hits = Vec::new();
    for (name, w) in [
        ("workload", r.get("workload")),
        (
            "feed workload",
            r.get("feed").and_then(|f| f.get("workload")),
        ),
    ] {
        let Some(w) = w else { continue };
        let (Some(h), Some(o)) = (
            w.get("hit_rate").and_then(Value::as_f64),
            w.get("oracle_hit_rate").and_then(Value::as_f64),
        ) else {
            continue;
        };
        let _ = writeln!(
            out,
            "<p data-workload=\"{name}\" data-hit-rate=\"{h}\" data-oracle-hit-rate=\"{o}\">{name}: hit rate {h:.3}, oracle {o:.3}</p>"
        );
        hits.push((name.to_owned(), h, o));
    }
    svg.clear();
    hit_rate_chart(&mut svg, &hits)?;
    section(&mut out, "hit rate", &svg);
    svg.clear();
    trend_chart(&mut svg, page.history)?;
    section(
        &mut out,
        &format!("trend over {} runs", page.history.len()),
        &svg,
    );
    // Filled in by the browser: proof that the page was parsed and laid
    // out, with the number of charts it drew.
    out.push_str(
        "<p id=\"rendered\"></p>\n<script>document.getElementById('rendered').textContent = \
         'rendered ' + document.querySelectorAll('section.chart svg').length + ' charts, ' + \
         Math.round(document.body.scrollHeight) + ' px';</script>\n</body></html>\n",
    );
    Ok(out)
}
