#!/usr/bin/env bash
# What `catalog!` costs inside rustc. Builds three small crates against the same
# 208-event catalog and times an incremental debug rebuild after touching lib.rs:
#   macro      `catalog!("events.yaml")`, proc macro at cargo's default opt-level 0
#   macro-opt  the same with `[profile.dev.build-override] opt-level = 3`
#   hand       the macro's expansion pasted in as plain Rust (hand-written code)
# Prints the median of RUNS (default 5) builds of each, and the ratios.
#
#   scripts/compile-cost.sh [CATALOG.yaml]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
catalog=${1:-$root/tests/fixtures/big208.yaml}
runs=${RUNS:-5}
work=$root/target/compile-cost
export CARGO_TARGET_DIR=$work/target

make_crate() { # name, extra Cargo.toml text
  mkdir -p "$work/$1/src"
  cat > "$work/$1/Cargo.toml" <<EOF
[package]
name = "cost-$1"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
skillcore-events = { path = "$root/skillcore-events" }

[workspace]
$2
EOF
  cp "$root/Cargo.lock" "$work/$1/Cargo.lock"
}

make_crate macro ""
make_crate macro-opt $'\n[profile.dev.build-override]\nopt-level = 3'
make_crate hand ""
for k in macro macro-opt; do
  cp "$catalog" "$work/$k/events.yaml"
  echo 'skillcore_events::catalog!("events.yaml");' > "$work/$k/src/lib.rs"
done
(cd "$root" && cargo run --quiet --offline -p skillcore-events-codegen --example expand -- "$catalog") > "$work/hand/src/lib.rs"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_builds() {
  cd "$work/$1"
  cargo build --quiet --offline # warm: dependencies and a first build
  for _ in $(seq "$runs"); do
    touch src/lib.rs
    s=$(date +%s%N)
    cargo build --quiet --offline
    e=$(date +%s%N)
    echo $(((e - s) / 1000000))
  done | median
}

m=$(time_builds macro)
mo=$(time_builds macro-opt)
h=$(time_builds hand)
echo "catalog: $catalog ($(grep -c '^  [a-z_]*\.[a-z_.]*:$' "$catalog") events), median of $runs incremental debug rebuilds"
echo "macro (opt-level 0):       ${m} ms"
echo "macro (build-override 3): ${mo} ms"
echo "hand-written:              ${h} ms"
awk -v m="$m" -v mo="$mo" -v h="$h" 'BEGIN { printf "ratio macro/hand: %.2fx, macro-opt/hand: %.2fx\n", m / h, mo / h }'
