//! `neonhub-db compare A.json B.json` and `bench --compare BASELINE.json`:
//! is B slower than A, beyond the noise? (SPEC §12.)
//!
//! For every query and mode measured in both runs (`no_index`, `indexed`,
//! `cached`, `direct`, `cache_miss`), the ratio B/A of the p50 and of the
//! p95, and a 95% confidence interval of the p50 ratio by the **bootstrap**
//! (percentile method): both runs' samples are resampled with replacement
//! [`RESAMPLES`] times from a fixed seed, the ratio of the two medians is
//! taken each time, and the interval is the 2.5th to 97.5th percentile of
//! those ratios. The verdict is *slower* when the whole interval is above
//! 1, *faster* when it is below 1, *same* otherwise: only a change outside
//! the interval counts. A run compared with itself is *same* everywhere.
//!
//! The interval covers the noise within the two runs. Noise between runs
//! (another tenant on a shared machine) is not in it, which is why a
//! regression fails a build only beyond a threshold (`--fail-over`,
//! default 1.2: p50 20% slower).
//!
//! Runs of different backends, scales or machines (host name and CPU
//! count) are refused: their differences are not the code's.

use std::fmt;
use std::path::{Path, PathBuf};

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::Serialize;
use serde_json::Value;

/// Bootstrap resamples per row.
pub const RESAMPLES: usize = 2000;
/// The default `--fail-over`.
pub const DEFAULT_FAIL_OVER: f64 = 1.2;
/// Modes compared, in the order of the report.
pub const MODES: [&str; 5] = ["no_index", "indexed", "cached", "direct", "cache_miss"];

/// Why two runs cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The file cannot be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON.
    #[error("{path} is not JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
    /// JSON, but not a `bench --json` report this version can read.
    #[error("{path} is not a neonhub-db bench report: {what}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        what: String,
    },
    /// The runs differ in something other than the code.
    #[error("cannot compare {a} with {b}: {why}")]
    Incomparable {
        /// The baseline.
        a: String,
        /// The other run.
        b: String,
        /// What differs.
        why: String,
    },
}

/// One query in one mode of a run.
#[derive(Debug, Clone)]
pub struct Series {
    /// Query name.
    pub query: String,
    /// Mode.
    pub mode: &'static str,
    /// Samples, milliseconds.
    pub samples: Vec<f64>,
    /// The report's p50.
    pub p50_ms: f64,
    /// The report's p95.
    pub p95_ms: f64,
}

/// What `compare` needs of a run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Where it came from (a path, or "this run").
    pub label: String,
    /// `postgres` or `sqlite`.
    pub backend: String,
    /// The scale.
    pub scale: String,
    /// Host name.
    pub hostname: String,
    /// CPUs.
    pub cpus: u64,
    /// Git commit, if known.
    pub git_commit: Option<String>,
    /// When it started.
    pub started_at: String,
    /// Every query and mode with samples.
    pub series: Vec<Series>,
}

impl Run {
    /// Reads a `bench --json` file.
    ///
    /// # Errors
    /// The file cannot be read, is not JSON, or lacks a field (a report of
    /// a version that wrote no samples, for example).
    pub fn load(path: &Path) -> Result<Self, CompareError> {
        let text = std::fs::read_to_string(path).map_err(|source| CompareError::Io {
            path: path.to_owned(),
            source,
        })?;
        let json: Value = serde_json::from_str(&text).map_err(|source| CompareError::Json {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&json, &path.display().to_string()).map_err(|what| CompareError::Format {
            path: path.to_owned(),
            what,
        })
    }

    /// From a report's JSON.
    ///
    /// # Errors
    /// What is missing, as text.
    pub fn from_json(json: &Value, label: &str) -> Result<Self, String> {
        let text = |v: &Value, key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("no \"{key}\""))
        };
        let machine = json
            .get("machine")
            .ok_or("no \"machine\" (written before bench recorded it: run bench again)")?;
        let mut series = Vec::new();
        for q in json
            .get("queries")
            .and_then(Value::as_array)
            .ok_or("no \"queries\"")?
        {
            let query = text(q, "name")?;
            for mode in MODES {
                let Some(l) = q.get(mode) else { continue };
                let samples: Vec<f64> = l
                    .get("samples_ms")
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        format!(
                            "{query}.{mode} has no samples_ms (written before bench recorded samples: run bench again)"
                        )
                    })?
                    .iter()
                    .filter_map(Value::as_f64)
                    .collect();
                if samples.is_empty() {
                    continue;
                }
                let number = |key: &str| l.get(key).and_then(Value::as_f64).unwrap_or(0.0);
                series.push(Series {
                    query: query.clone(),
                    mode,
                    p50_ms: number("p50_ms"),
                    p95_ms: number("p95_ms"),
                    samples,
                });
            }
        }
        Ok(Self {
            label: label.to_owned(),
            backend: text(json, "backend")?,
            scale: text(json, "scale")?,
            hostname: text(machine, "hostname")?,
            cpus: machine
                .get("cpus")
                .and_then(Value::as_u64)
                .ok_or("no machine.cpus")?,
            git_commit: json
                .get("git_commit")
                .and_then(Value::as_str)
                .map(str::to_owned),
            started_at: text(json, "started_at")?,
            series,
        })
    }
}

/// The runs saved in `dir` (`bench --history`) that compare with `this`
/// (same backend, scale and machine), oldest first; files that are not
/// reports are skipped with a warning. `this` is included (it is saved
/// before the report is drawn).
pub fn load_history(dir: &Path, this: &Run) -> Vec<Run> {
    let mut runs: Vec<Run> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter_map(|p| match Run::load(&p) {
            Ok(run) => Some(run),
            Err(e) => {
                tracing::warn!("history: skipping {}: {e}", p.display());
                None
            }
        })
        .filter(|r| {
            (
                r.backend.as_str(),
                r.scale.as_str(),
                r.hostname.as_str(),
                r.cpus,
            ) == (
                this.backend.as_str(),
                this.scale.as_str(),
                this.hostname.as_str(),
                this.cpus,
            )
        })
        .collect();
    runs.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    if !runs.iter().any(|r| r.started_at == this.started_at) {
        runs.push(this.clone());
    }
    runs
}

/// Faster, same or slower, by the confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The whole interval of the p50 ratio is below 1.
    Faster,
    /// The interval contains 1.
    Same,
    /// The whole interval is above 1.
    Slower,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Verdict::Faster => "faster",
            Verdict::Same => "same",
            Verdict::Slower => "slower",
        })
    }
}

/// One query in one mode, compared.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Query name.
    pub query: String,
    /// Mode.
    pub mode: &'static str,
    /// The baseline's p50, ms.
    pub base_p50_ms: f64,
    /// The other run's p50, ms.
    pub new_p50_ms: f64,
    /// new / base p50.
    pub p50_ratio: f64,
    /// new / base p95.
    pub p95_ratio: f64,
    /// 95% bootstrap interval of the p50 ratio.
    pub ci_low: f64,
    /// Upper end.
    pub ci_high: f64,
    /// By the interval.
    pub verdict: Verdict,
}

/// Two runs compared.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The baseline.
    pub base: String,
    /// Its commit.
    pub base_commit: Option<String>,
    /// The other run.
    pub new: String,
    /// Its commit.
    pub new_commit: Option<String>,
    /// How the intervals were computed.
    pub method: &'static str,
    /// Every query and mode measured in both.
    pub rows: Vec<Row>,
    /// Queries or modes measured in only one of the runs.
    pub not_compared: Vec<String>,
}

impl Comparison {
    /// Rows that are slower beyond the noise and beyond `fail_over`.
    pub fn regressions(&self, fail_over: f64) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(move |r| r.verdict == Verdict::Slower && r.p50_ratio > fail_over)
    }

    /// How many rows have this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let commit =
            |c: &Option<String>| c.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
        writeln!(
            f,
            "baseline {}{} -> {}{}; {}",
            self.base,
            commit(&self.base_commit),
            self.new,
            commit(&self.new_commit),
            self.method
        )?;
        writeln!(
            f,
            "{:<31} {:<10} {:>21} {:>8} {:>17} {:>8}  verdict",
            "query", "mode", "p50 ms base -> new", "p50 ×", "95% CI", "p95 ×"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<31} {:<10} {:>21} {:>8.3} {:>17} {:>8.3}  {}",
                r.query,
                r.mode,
                format!("{:.4} -> {:.4}", r.base_p50_ms, r.new_p50_ms),
                r.p50_ratio,
                format!("[{:.3}, {:.3}]", r.ci_low, r.ci_high),
                r.p95_ratio,
                r.verdict
            )?;
        }
        for n in &self.not_compared {
            writeln!(f, "not compared: {n}")?;
        }
        write!(
            f,
            "{} faster, {} same, {} slower",
            self.count(Verdict::Faster),
            self.count(Verdict::Same),
            self.count(Verdict::Slower)
        )
    }
}

fn median(v: &mut [f64]) -> f64 {
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

/// The 95% percentile-bootstrap interval of median(new) / median(base).
pub fn bootstrap_ratio_ci(base: &[f64], new: &[f64], seed: u64) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw = |from: &[f64], into: &mut Vec<f64>| {
        into.clear();
        for _ in 0..from.len() {
            let i = (rng.next_u64() % from.len() as u64) as usize;
            into.push(from[i]);
        }
    };
    let (mut a, mut b) = (
        Vec::with_capacity(base.len()),
        Vec::with_capacity(new.len()),
    );
    let mut ratios = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        draw(base, &mut a);
        draw(new, &mut b);
        let (ma, mb) = (median(&mut a), median(&mut b));
        ratios.push(if ma > 0.0 { mb / ma } else { f64::INFINITY });
    }
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((q * RESAMPLES as f64) as usize).min(RESAMPLES - 1)];
    (at(0.025), at(0.975))
}

/// Compares `new` with the baseline `base`.
///
/// # Errors
/// [`CompareError::Incomparable`] for runs of another backend, scale or
/// machine.
pub fn compare(base: &Run, new: &Run) -> Result<Comparison, CompareError> {
    let refuse = |why: String| CompareError::Incomparable {
        a: base.label.clone(),
        b: new.label.clone(),
        why,
    };
    if base.backend != new.backend {
        return Err(refuse(format!(
            "one ran on {}, the other on {}",
            base.backend, new.backend
        )));
    }
    if base.scale != new.scale {
        return Err(refuse(format!(
            "one ran at scale {}, the other at {}",
            base.scale, new.scale
        )));
    }
    if (base.hostname.as_str(), base.cpus) != (new.hostname.as_str(), new.cpus) {
        return Err(refuse(format!(
            "one ran on {} ({} CPUs), the other on {} ({} CPUs); latency on different machines differs by more than the code",
            base.hostname, base.cpus, new.hostname, new.cpus
        )));
    }
    let mut rows = Vec::new();
    let mut not_compared = Vec::new();
    for (i, b) in base.series.iter().enumerate() {
        let Some(n) = new
            .series
            .iter()
            .find(|n| n.query == b.query && n.mode == b.mode)
        else {
            not_compared.push(format!("{} {} (only in {})", b.query, b.mode, base.label));
            continue;
        };
        let (ci_low, ci_high) = bootstrap_ratio_ci(&b.samples, &n.samples, 0x5eed + i as u64);
        let verdict = if ci_low > 1.0 {
            Verdict::Slower
        } else if ci_high < 1.0 {
            Verdict::Faster
        } else {
            Verdict::Same
        };
        let ratio = |x: f64, y: f64| if y > 0.0 { x / y } else { f64::INFINITY };
        rows.push(Row {
            query: b.query.clone(),
            mode: b.mode,
            base_p50_ms: b.p50_ms,
            new_p50_ms: n.p50_ms,
            p50_ratio: ratio(n.p50_ms, b.p50_ms),
            p95_ratio: ratio(n.p95_ms, b.p95_ms),
            ci_low,
            ci_high,
            verdict,
        });
    }
    for n in &new.series {
        if !base
            .series
            .iter()
            .any(|b| b.query == n.query && b.mode == n.mode)
        {
            not_compared.push(format!("{} {} (only in {})", n.query, n.mode, new.label));
        }
    }
    Ok(Comparison {
        base: base.label.clone(),
        base_commit: base.git_commit.clone(),
        new: new.label.clone(),
        new_commit: new.git_commit.clone(),
        method: "95% percentile bootstrap of the p50 ratio, 2000 resamples",
        rows,
        not_compared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(center: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| center * (0.9 + 0.2 * (rng.next_u64() % 1000) as f64 / 1000.0))
            .collect()
    }

    fn run(label: &str, samples: Vec<f64>) -> Run {
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        Run {
            label: label.to_owned(),
            backend: "sqlite".to_owned(),
            scale: "tiny".to_owned(),
            hostname: "h".to_owned(),
            cpus: 2,
            git_commit: None,
            started_at: String::new(),
            series: vec![Series {
                query: "q".to_owned(),
                mode: "indexed",
                p50_ms: sorted[sorted.len() / 2],
                p95_ms: sorted[sorted.len() * 95 / 100],
                samples,
            }],
        }
    }

    #[test]
    fn the_interval_decides() {
        let base = run("a", noisy(1.0, 200, 1));
        let same = compare(&base, &run("b", noisy(1.0, 200, 2))).unwrap();
        assert_eq!(same.rows[0].verdict, Verdict::Same, "{same}");
        let itself = compare(&base, &base).unwrap();
        assert_eq!(itself.rows[0].verdict, Verdict::Same);
        assert!(itself.rows[0].ci_low <= 1.0 && itself.rows[0].ci_high >= 1.0);
        let slower = compare(&base, &run("c", noisy(1.5, 200, 3))).unwrap();
        assert_eq!(slower.rows[0].verdict, Verdict::Slower, "{slower}");
        assert_eq!(slower.regressions(1.2).count(), 1);
        assert_eq!(slower.regressions(1.6).count(), 0, "under the threshold");
        let faster = compare(&base, &run("d", noisy(0.5, 200, 4))).unwrap();
        assert_eq!(faster.rows[0].verdict, Verdict::Faster);
    }

    #[test]
    fn other_machines_and_scales_are_refused() {
        let base = run("a", noisy(1.0, 50, 1));
        let mut other = base.clone();
        other.hostname = "elsewhere".to_owned();
        let err = compare(&base, &other).unwrap_err().to_string();
        assert!(err.contains("elsewhere"), "{err}");
        let mut other = base.clone();
        other.scale = "large".to_owned();
        assert!(
            compare(&base, &other)
                .unwrap_err()
                .to_string()
                .contains("scale")
        );
    }

    #[test]
    fn a_report_without_samples_is_refused_with_a_reason() {
        let json = serde_json::json!({
            "backend": "sqlite", "scale": "tiny", "started_at": "x",
            "machine": {"hostname": "h", "cpus": 2},
            "queries": [{"name": "q", "indexed": {"p50_ms": 1.0, "p95_ms": 2.0}}]
        });
        let err = Run::from_json(&json, "old.json").unwrap_err();
        assert!(err.contains("samples_ms"), "{err}");
    }
}
