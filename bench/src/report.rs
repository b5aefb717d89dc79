//! Reads one run's measurements (a directory of small JSON files written by run.sh, the
//! load tools and the other subcommands), prints the table of figures and ratios against
//! the targets, and writes it all as one JSON document for later comparison.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

use serde::Serialize;
use serde_json::{Value, json};

use crate::Result;

#[derive(clap::Args)]
pub struct Args {
    /// The run's directory of measurements.
    #[arg(long)]
    run: PathBuf,
    /// Where to write the JSON report.
    #[arg(long)]
    out: PathBuf,
    /// Also write the table (Markdown) here.
    #[arg(long)]
    table: Option<PathBuf>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Row {
    pub figure: String,
    pub value: Option<f64>,
    pub unit: &'static str,
    /// `>= x` or `<= x`, when the issue sets a target.
    pub target: Option<String>,
    pub met: Option<bool>,
    pub note: String,
}

#[derive(Clone, Copy)]
pub enum Goal {
    AtLeast(f64),
    AtMost(f64),
}

pub fn row(
    figure: &str,
    value: Option<f64>,
    unit: &'static str,
    goal: Option<Goal>,
    note: String,
) -> Row {
    let (target, met) = match goal {
        Some(Goal::AtLeast(x)) => (Some(format!(">= {x}")), value.map(|v| v >= x)),
        Some(Goal::AtMost(x)) => (Some(format!("<= {x}")), value.map(|v| v <= x)),
        None => (None, None),
    };
    Row {
        figure: figure.to_owned(),
        value,
        unit,
        target,
        met,
        note,
    }
}

fn read(dir: &Path, name: &str) -> Value {
    std::fs::read(dir.join(name))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// The VmHWM the run script noted after each phase (`rss-phases.txt`: `phase kB` lines),
/// as "; VmHWM after each phase: saturation 71 MB, …": where memory grew.
fn rss_phases(dir: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(dir.join("rss-phases.txt")) else {
        return String::new();
    };
    let phases: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let (phase, kb) = line.split_once(' ')?;
            let kb: f64 = kb.trim().parse().ok()?;
            Some(format!("{phase} {:.0} MB", kb / 1024.0))
        })
        .collect();
    if phases.is_empty() {
        String::new()
    } else {
        format!("; VmHWM after each phase: {}", phases.join(", "))
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Requests per second from wrk's summary line, and a note on bodies checked.
fn wrk_rps(v: &Value) -> (Option<f64>, String) {
    let requests = v["requests"].as_f64();
    let seconds = v["duration_us"].as_f64().map(|us| us / 1e6);
    let rps = ratio(requests, seconds);
    let mut note = format!(
        "wrk, {} bodies checked, {} bad, {} non-2xx, {} socket errors",
        v["checked"], v["bad_bodies"], v["non2xx"], v["socket_errors"]
    );
    // Which answers came from the response cache (`X-Cache`), so a cached figure is
    // never mistaken for the resolvers' speed.
    let hits = v["cache_hits"].as_u64().unwrap_or(0);
    let misses = v["cache_misses"].as_u64().unwrap_or(0);
    if hits + misses > 0 {
        note.push_str(&format!("; response cache: {hits} hits, {misses} misses"));
    }
    (rps, note)
}

/// (p50, p99, p99.9) in ms from oha's JSON (seconds) or gerak-bench's (µs).
fn latencies(v: &Value) -> Option<(f64, f64, f64)> {
    if let Some(p) = v.get("latencyPercentiles") {
        let ms = |key: &str| p[key].as_f64().map(|s| s * 1000.0);
        return Some((ms("p50")?, ms("p99")?, ms("p99.9")?));
    }
    let l = v.get("latency")?;
    let ms = |key: &str| l[key].as_f64().map(|us| us / 1000.0);
    Some((ms("p50_us")?, ms("p99_us")?, ms("p999_us")?))
}

fn oha_note(v: &Value, check: &Value) -> String {
    if v.is_null() {
        return "not measured".to_owned();
    }
    if v.get("latencyPercentiles").is_none() {
        return format!(
            "gerak-bench load, open loop, every body checked: {} ok, {} bad, {} dropped",
            v["ok"], v["bad"], v["dropped"]
        );
    }
    format!(
        "oha -q, latency-corrected; status codes {}; errors {}; bodies sampled beside it: {} ok, {} bad",
        v["statusCodeDistribution"], v["errorDistribution"], check["ok"], check["bad"]
    )
}

pub fn rows(dir: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    let (raw_json, raw_json_note) = wrk_rps(&read(dir, "wrk-raw-json.json"));
    let (raw_sql, raw_sql_note) = wrk_rps(&read(dir, "wrk-raw-sql.json"));
    let (typename, typename_note) = wrk_rps(&read(dir, "wrk-typename.json"));
    let (campaign, campaign_note) = wrk_rps(&read(dir, "wrk-campaign.json"));
    let (explore, explore_note) = wrk_rps(&read(dir, "wrk-explore.json"));
    let mixed = read(dir, "load-mixed-saturation.json");

    rows.push(row(
        "{__typename} req/s ÷ raw axum JSON req/s",
        ratio(typename, raw_json),
        "",
        Some(Goal::AtLeast(0.7)),
        String::new(),
    ));
    rows.push(row(
        "campaign page req/s ÷ raw axum + one sqlx query req/s",
        ratio(campaign, raw_sql),
        "",
        Some(Goal::AtLeast(0.8)),
        String::new(),
    ));
    let fixed = |name: &str| {
        let v = read(dir, &format!("rate-{name}.json"));
        let check = read(dir, &format!("check-{name}.json"));
        (latencies(&v), oha_note(&v, &check))
    };
    let (campaign_fixed, campaign_fixed_note) = fixed("campaign");
    rows.push(row(
        "campaign page p99 at 1,000 req/s",
        campaign_fixed.map(|l| l.1),
        "ms",
        Some(Goal::AtMost(3.0)),
        campaign_fixed_note,
    ));
    let events = read(dir, "events.json");
    let ms = |v: &Value| v.as_f64().map(|us| us / 1000.0);
    let over = events["bus"].as_str().unwrap_or("?").to_owned();
    let p99 =
        |which: &str| ms(&events[which]["p99_us"]).map_or("-".to_owned(), |v| format!("{v:.2}"));
    rows.push(row(
        "event path p99 at 1,000 events/s (commit → message)",
        ms(&events["commit"]["p99_us"]),
        "ms",
        Some(Goal::AtMost(5.0)),
        format!(
            "over {over}; {} sent, {} received, {} missing; from paidAt, stamped in the payment's transaction before commit; request → message p99 {} ms, response → message p99 {} ms",
            events["sent"],
            events["received"],
            events["missing"],
            p99("upper"),
            p99("lower"),
        ),
    ));
    let mb = |v: &Value| v.as_f64().map(|kb| kb / 1024.0);
    let idle = read(dir, "rss-idle.json");
    let load = read(dir, "rss-load.json");
    rows.push(row(
        "RSS idle",
        mb(&idle["last_kb"]),
        "MB",
        Some(Goal::AtMost(50.0)),
        "after start on the seeded data".to_owned(),
    ));
    rows.push(row(
        "RSS under load",
        mb(&load["peak_kb"]),
        "MB",
        Some(Goal::AtMost(200.0)),
        format!(
            "peak of {} samples over every load run; VmHWM {:.1} MB{}",
            load["samples"],
            mb(&load["hwm_kb"]).unwrap_or(0.0),
            rss_phases(dir)
        ),
    ));

    rows.push(row("raw axum JSON", raw_json, "req/s", None, raw_json_note));
    rows.push(row(
        "raw axum + one sqlx query",
        raw_sql,
        "req/s",
        None,
        raw_sql_note,
    ));
    rows.push(row("{__typename}", typename, "req/s", None, typename_note));
    rows.push(row("campaign page", campaign, "req/s", None, campaign_note));
    rows.push(row("explore page", explore, "req/s", None, explore_note));
    rows.push(row(
        "explore page ÷ raw axum + one sqlx query",
        ratio(explore, raw_sql),
        "",
        None,
        String::new(),
    ));
    rows.push(row(
        "mixed workload (saturation)",
        mixed["throughput"].as_f64(),
        "ops/s",
        None,
        format!(
            "gerak-bench load, closed loop, {} connections, every body checked: {} ok, {} bad",
            mixed["connections"], mixed["ok"], mixed["bad"]
        ),
    ));
    for name in [
        "raw-json", "raw-sql", "typename", "campaign", "explore", "mixed",
    ] {
        let (lat, note) = fixed(name);
        for (i, p) in ["p50", "p99", "p99.9"].iter().enumerate() {
            let value = lat.map(|l| [l.0, l.1, l.2][i]);
            rows.push(row(
                &format!("{name} {p} at 1,000 req/s"),
                value,
                "ms",
                None,
                if i == 0 { note.clone() } else { String::new() },
            ));
        }
    }
    rows.push(row(
        "event path p50 (commit → message)",
        ms(&events["commit"]["p50_us"]),
        "ms",
        None,
        String::new(),
    ));
    rows.push(row(
        "event path p50 (request → message)",
        ms(&events["upper"]["p50_us"]),
        "ms",
        None,
        String::new(),
    ));
    rows.push(row(
        "event path p50 (response → message)",
        ms(&events["lower"]["p50_us"]),
        "ms",
        None,
        String::new(),
    ));
    rows.push(row(
        "recordPayment p99 during the event run",
        ms(&events["mutation"]["p99_us"]),
        "ms",
        None,
        String::new(),
    ));
    rows
}

fn format_value(value: Option<f64>, unit: &str) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) if unit.is_empty() => format!("{v:.2}"),
        Some(v) if unit == "ms" => format!("{v:.2} ms"),
        Some(v) => format!("{v:.0} {unit}"),
    }
}

pub fn table(rows: &[Row]) -> String {
    let mut out =
        String::from("| figure | value | target | met | how |\n| --- | --- | --- | --- | --- |\n");
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.figure,
            format_value(r.value, r.unit),
            r.target
                .as_deref()
                .map(|t| format!(
                    "{t}{}",
                    if r.unit.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", r.unit)
                    }
                ))
                .unwrap_or_default(),
            met,
            r.note.replace('|', "/")
        );
    }
    out
}

pub fn run(args: Args) -> Result<()> {
    let rows = rows(&args.run);
    let meta = read(&args.run, "meta.json");
    let table = table(&rows);
    println!(
        "Gerak benchmark, {} backend, {} on {}\n",
        meta["backend"].as_str().unwrap_or("?"),
        meta["date"].as_str().unwrap_or("?"),
        meta["machine"].as_str().unwrap_or("?")
    );
    println!("{table}");
    let report = json!({ "meta": meta, "rows": rows });
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)?;
    if let Some(path) = &args.table {
        std::fs::write(path, &table)?;
    }
    eprintln!("written: {}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_the_table() {
        let r = row(
            "ratio",
            Some(0.75),
            "",
            Some(Goal::AtLeast(0.7)),
            String::new(),
        );
        assert_eq!((r.target.as_deref(), r.met), (Some(">= 0.7"), Some(true)));
        let r = row(
            "p99",
            Some(3.5),
            "ms",
            Some(Goal::AtMost(3.0)),
            String::new(),
        );
        assert_eq!(r.met, Some(false));
        assert_eq!(
            row("x", None, "ms", Some(Goal::AtMost(1.0)), String::new()).met,
            None
        );
        let t = table(&[r]);
        assert!(t.contains("| p99 | 3.50 ms | <= 3 ms | **no** |"), "{t}");
    }

    #[test]
    fn reads_a_run_directory() {
        let dir = std::env::temp_dir().join(format!("gerak-bench-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, v: Value| std::fs::write(dir.join(name), v.to_string()).unwrap();
        write(
            "wrk-raw-json.json",
            json!({ "requests": 1000, "duration_us": 1_000_000, "checked": 1000, "bad_bodies": 0, "non2xx": 0, "socket_errors": 0 }),
        );
        write(
            "wrk-typename.json",
            json!({ "requests": 800, "duration_us": 1_000_000, "checked": 800, "bad_bodies": 0, "non2xx": 0, "socket_errors": 0 }),
        );
        write(
            "rate-campaign.json",
            json!({ "latencyPercentiles": { "p50": 0.001, "p99": 0.002, "p99.9": 0.004 }, "statusCodeDistribution": { "200": 10 } }),
        );
        write("rss-idle.json", json!({ "last_kb": 40960 }));
        write(
            "rss-load.json",
            json!({ "peak_kb": 102400, "hwm_kb": 102400, "samples": 3 }),
        );
        std::fs::write(
            dir.join("rss-phases.txt"),
            "saturation 51200\nevents 102400\n",
        )
        .unwrap();
        let rows = rows(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(rows[0].value, Some(0.8));
        assert_eq!(rows[0].met, Some(true));
        assert_eq!(rows[1].value, None, "no raw sql run");
        assert_eq!(rows[2].value, Some(2.0));
        assert_eq!(rows[4].value, Some(40.0));
        assert!(
            rows[5]
                .note
                .ends_with("VmHWM after each phase: saturation 50 MB, events 100 MB"),
            "{}",
            rows[5].note
        );
    }
}
