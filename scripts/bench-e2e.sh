#!/usr/bin/env bash
# End-to-end benchmark (issue 9): builds the gateway and the simulator in
# release mode, then runs `retrofit-sim bench`, which starts its own
# Mosquitto and VictoriaMetrics on free ports, measures the broker's own
# one-hop and two-hop ceiling, drives the gateway with 2,000 LoRaWAN
# devices at 2,000 / 5,000 / 10,000 uplinks/s (100,000 each), searches for
# the highest rate held with no loss and prints one markdown table.
#
# Usage: scripts/bench-e2e.sh [retrofit-sim bench options...]
#   e.g. scripts/bench-e2e.sh --quick
#        scripts/bench-e2e.sh --rates 2000,5000 --count 50000
# Environment: CARGO_TARGET_DIR (default: target) picks the build directory.
# Needs mosquitto and victoria-metrics: scripts/install-test-deps.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"

cargo build --release -p retrofit-gateway -p retrofit-sim --target-dir "$target_dir"

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" >&2
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')" >&2

exec "$target_dir/release/retrofit-sim" bench \
  --gateway "$target_dir/release/retrofit-gateway" "$@"
