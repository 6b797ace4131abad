#!/usr/bin/env bash
# Coverage-guided fuzzing of SkillCore Events with cargo-fuzz (libFuzzer).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   (default 300 s, every target)
#
# Targets (fuzz_targets/):
#   catalog     the catalog compiler on arbitrary bytes: YAML (fast path and
#               full parser), syntax, validation, diagnostics rendered plain,
#               ANSI and JSON (bounded, no raw control characters), emitters
#   decode      AnyEvent::from_json and RawEnvelope::from_json + decode_any
#               against fixtures/fuzz.yaml (nested types, enums, lists, pii),
#               with re-encode round trips
#   cloudevent  RawEnvelope::from_cloudevent / to_cloudevent round trips
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). libFuzzer needs nightly
# compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them, which
# is fine for a fuzz build and for nothing else. Runs under `nice -n 19` so
# other builds on the machine keep their CPU. The build has its own target dir
# (fuzz/target): this crate is not a member of the main workspace.
#
# Seeds are committed in fuzz/seeds/<target>/; libFuzzer grows its working
# corpus in fuzz/corpus/<target>/ and writes crashing inputs to
# fuzz/artifacts/<target>/ (both ignored by git). A crash makes this script
# exit non-zero; turn the input into a regression test in the normal test
# suite, then fix it. Reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none -a TARGET fuzz/artifacts/TARGET/crash-...
set -euo pipefail

secs="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(catalog decode cloudevent)
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
    exit 2
fi

# No sanitizer: the code under test is safe Rust, and ASan would halve the
# executions per second. Debug assertions on: overflow checks find arithmetic
# bugs (columns, lengths) that release builds would wrap silently.
flags=(--sanitizer none --debug-assertions)
nice -n 19 cargo fuzz build "${flags[@]}"

status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    echo "== $target: ${secs}s"
    # CPU seconds of the run (user + system), for the report.
    TIMEFORMAT="-- $target: %U s user + %S s system CPU, %R s wall"
    time {
        nice -n 19 cargo fuzz run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
            -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=4096 \
            -print_final_stats=1 >"artifacts/$target/last-run.log" 2>&1 || true
    }
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)|panicked|deadly signal|Timeout|SUMMARY' \
        "artifacts/$target/last-run.log" || true
    echo "corpus: $(ls "corpus/$target" | wc -l) inputs"
    if ls "artifacts/$target"/crash-* "artifacts/$target"/timeout-* "artifacts/$target"/oom-* >/dev/null 2>&1; then
        echo "!! $target: crashing inputs in fuzz/artifacts/$target/" >&2
        status=1
    fi
done
exit $status
