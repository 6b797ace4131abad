//! Whole-process time of `skillcore-events diff` on two 208-event catalogs
//! (the issue's figure: under 50 ms), with `check` and `lock` beside it.
//!
//! ```sh
//! cargo bench -p skillcore-events-cli --bench diff        # BENCH_RUNS=N (default 21)
//! ```
//!
//! The old side is `tests/fixtures/big208.yaml` (written by the codegen's
//! `tests/common/gen208.rs`); the new side is the same catalog with a few
//! changes: a value added to the `Severity` enum (seen at every event that
//! uses it), an optional field added to 5 events, a field made optional, and
//! one event's version raised. Each command runs as its own process (release
//! build), output to a pipe that is read and dropped; figures are the median,
//! fastest and slowest wall time of the runs, after two warm-up runs, and the
//! mean CPU time (user and system) a run costs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI crate sits in the workspace")
        .to_path_buf();
    let old = std::fs::read_to_string(root.join("tests/fixtures/big208.yaml"))
        .expect("tests/fixtures/big208.yaml (the 208-event fixture)");
    let new = changed(&old);
    let dir = std::env::temp_dir().join(format!("skillcore-diff-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (side, text) in [("old", &old), ("new", &new)] {
        std::fs::create_dir_all(dir.join(side)).expect("temp dir");
        std::fs::write(dir.join(side).join("big208.yaml"), text).expect("write catalog");
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21);

    // The lock of the old side, for `diff OLD.lock NEW`.
    let (code, out) = once(&dir, &["lock", "old"]);
    assert_eq!(code, 0, "lock of the old side: {out}");
    let (code, out) = once(&dir, &["diff", "old", "new"]);
    assert_eq!(code, 0, "the changes are compatible or versioned:\n{out}");
    let changes = out.lines().count() - 1;
    println!(
        "diff of two {}-event catalogs: {changes} changes ({})",
        old.matches("(generated event ").count(),
        out.lines().last().unwrap_or("")
    );

    let cases: &[(&str, &[&str])] = &[
        ("check (one catalog, baseline)", &["check", "new"]),
        ("diff OLD NEW (human)", &["diff", "old", "new"]),
        (
            "diff OLD NEW --format json",
            &["diff", "old", "new", "--format", "json"],
        ),
        (
            "diff OLD NEW --format markdown",
            &["diff", "old", "new", "--format", "markdown"],
        ),
        ("diff old.lock NEW (human)", &["diff", "old.lock", "new"]),
        ("lock (unchanged, up to date)", &["lock", "old"]),
    ];
    println!("{runs} runs each, after 2 warm-up runs; whole process, release build");
    println!("| command | median | fastest | slowest | CPU per run |");
    println!("|---|---|---|---|---|");
    for (name, args) in cases {
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut cpu = Duration::ZERO;
        for i in 0..runs + 2 {
            let before = children_cpu();
            let start = Instant::now();
            let (code, out) = once(&dir, args);
            let took = start.elapsed();
            assert!(code <= 1, "{name}: exit {code}: {out}");
            if i >= 2 {
                times.push(took);
                cpu += children_cpu().saturating_sub(before);
            }
        }
        times.sort();
        println!(
            "| `{name}` | {} | {} | {} | {} |",
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(times[times.len() - 1]),
            ms(cpu / runs as u32)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the binary once from `dir`; its exit code and output.
fn once(dir: &PathBuf, args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_skillcore-events"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.code().unwrap_or(-1), text)
}

/// User and system time of the finished children so far (`cutime` and
/// `cstime` of `/proc/self/stat`, in clock ticks of 10 ms: averaged over the
/// runs, this is the CPU a command costs, less disturbed than wall time by a
/// busy machine). Zero where there is no `/proc`.
fn children_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // cutime and cstime are fields 16 and 17; `rest` starts at field 3.
    let ticks = f.get(13).copied().unwrap_or(0) + f.get(14).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The fixture with a few compatible or versioned changes.
fn changed(old: &str) -> String {
    let mut t = replace_once(
        old,
        "enum: [low, medium, high, critical]",
        "enum: [low, medium, high, critical, blocker]",
    );
    // An optional field in the first 5 events.
    let mut out = String::with_capacity(t.len() + 200);
    let mut added = 0;
    for line in t.lines() {
        out.push_str(line);
        out.push('\n');
        if line == "    payload:" && added < 5 {
            out.push_str("      reviewNote: string?\n");
            added += 1;
        }
    }
    t = out;
    t = replace_once(&t, "      score: number\n", "      score: number?\n");
    replace_once(
        &t,
        "(generated event 0).\n",
        "(generated event 0).\n    version: 2\n",
    )
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the fixture has `{from}`");
    text.replacen(from, to, 1)
}
