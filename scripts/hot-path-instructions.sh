#!/bin/sh
# Instructions per message for each step of the LoRaWAN hot path, counted
# by valgrind's callgrind (Debian package valgrind): the difference between
# 2,200 and 200 iterations of gateway/examples/hot_path_count.rs, divided
# by 2,000, so start-up (config parsing, ...) cancels out. Counts do not
# depend on the machine's load; see docs/BENCHMARKS.md.
set -eu
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install valgrind" >&2; exit 1; }
cargo build --quiet --profile bench -p retrofit-gateway --example hot_path_count
bin=target/release/examples/hot_path_count
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" $3 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for input in reference compact decoder; do
    mode=; [ "$input" = reference ] || mode=$input
    for step in scan_serde_json parse normalize mqtt_payload line_protocol all; do
        few=$(count "$step" 200 "$mode")
        many=$(count "$step" 2200 "$mode")
        echo "$input $step $(( (many - few) / 2000 ))"
    done
done
