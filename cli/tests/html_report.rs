//! `bench --html` in a real headless browser (Debian's `chromium`): the
//! page renders, has its charts, and the numbers on it equal the JSON's.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{Dir, neonhub_db};

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output()
            && out.status.success()
        {
            return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        }
    }
    panic!(
        "no headless browser: this test needs Chromium (Debian: apt-get install -y chromium; .ci/run installs it)"
    );
}

/// Runs the browser headless on `page` with `args` and a fresh profile.
fn browse(profile: &Path, page: &Path, args: &[&str]) -> Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--window-size=1200,4000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

#[test]
fn the_html_report_renders_its_charts_and_the_jsons_numbers() {
    let dir = Dir::new("neonhub_html");
    let url = format!("sqlite://{}?mode=rwc", dir.0.join("bench.db").display());
    let p = |name: &str| dir.0.join(name).to_str().unwrap().to_owned();
    let quick = [
        "bench",
        "--calls",
        "30",
        "--workload-calls",
        "200",
        "--concurrency-seconds",
        "0.05",
        "--skip-no-index",
        "--quiet",
    ];
    let run = |extra: &[&str]| {
        let mut args = vec!["--database-url", url.as_str()];
        args.extend_from_slice(&quick);
        args.extend_from_slice(extra);
        let out = neonhub_db(&args);
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["--json", &p("a.json"), "--history", &p("history")]);
    // Generous threshold: this test is about the page, not the verdicts.
    run(&[
        "--json",
        &p("b.json"),
        "--history",
        &p("history"),
        "--compare",
        &p("a.json"),
        "--fail-over",
        "100",
        "--html",
        &p("report.html"),
    ]);
    let html = std::fs::read_to_string(p("report.html")).unwrap();
    // The SVG namespace is a name, not a download.
    let html = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("src="),
        "self-contained: nothing loaded from anywhere"
    );

    let dom = browse(
        &dir.0.join("profile-dom"),
        &dir.0.join("report.html"),
        &["--dump-dom"],
    );
    let dom_text = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    // The page's script ran in the browser and counted the drawn charts:
    // four latency modes, throughput, hit rate, the trend of two runs.
    let rendered = dom_text
        .split("<p id=\"rendered\">")
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .unwrap_or_else(|| panic!("no rendered marker in the DOM:\n{dom_text:.2000}"));
    assert!(rendered.starts_with("rendered 7 charts, "), "{rendered}");
    let height: u32 = rendered
        .trim_start_matches("rendered 7 charts, ")
        .trim_end_matches(" px")
        .parse()
        .unwrap();
    assert!(
        height > 2000,
        "laid out tall enough for seven charts: {height} px"
    );

    // Every p50 and p95 of the JSON is on the page, in its row. Numbers
    // are read back through the same parser as the JSON's (the decimal
    // strings are both the shortest that round-trip).
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("b.json")).unwrap()).unwrap();
    let attr = |scope: &str, name: &str| -> f64 {
        let start = dom_text
            .find(scope)
            .unwrap_or_else(|| panic!("{scope} not on the page"));
        let rest = &dom_text[start..];
        let key = format!("{name}=\"");
        let at = rest
            .find(&key)
            .unwrap_or_else(|| panic!("no {name} after {scope}"))
            + key.len();
        let value = &rest[at..at + rest[at..].find('"').unwrap()];
        serde_json::from_str(value).unwrap_or_else(|e| panic!("{name}={value}: {e}"))
    };
    let mut checked = 0;
    for q in json["queries"].as_array().unwrap() {
        let name = q["name"].as_str().unwrap();
        for mode in ["indexed", "cached", "direct", "cache_miss"] {
            let row = format!("<tr data-query=\"{name}\" data-mode=\"{mode}\"><td>");
            assert_eq!(
                attr(&row, "data-p50"),
                q[mode]["p50_ms"].as_f64().unwrap(),
                "{row}"
            );
            assert_eq!(
                attr(&row, "data-p95"),
                q[mode]["p95_ms"].as_f64().unwrap(),
                "{row}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 32);
    for t in json["concurrency"].as_array().unwrap() {
        let cell = format!("data-clients=\"{}\"", t["clients"]);
        assert_eq!(
            attr(&cell, "data-calls-per-s"),
            t["calls_per_s"].as_f64().unwrap(),
            "{cell}"
        );
    }
    let w = &json["workload"];
    let scope = "data-workload=\"workload\"";
    assert_eq!(
        attr(scope, "data-hit-rate"),
        w["hit_rate"].as_f64().unwrap()
    );
    assert_eq!(
        attr(scope, "data-oracle-hit-rate"),
        w["oracle_hit_rate"].as_f64().unwrap()
    );
    assert!(
        dom_text.contains("id=\"compare\""),
        "the comparison table is there"
    );

    // And it paints: a screenshot of charts is far from a blank page.
    let shot = dir.0.join("shot.png");
    let out = browse(
        &dir.0.join("profile-shot"),
        &dir.0.join("report.html"),
        &[&format!("--screenshot={}", shot.display())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 40_000,
        "a {} byte screenshot is nearly blank",
        png.len()
    );
}
