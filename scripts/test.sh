#!/usr/bin/env bash
# Every test, as CI runs it (.ci/run) and the README documents it: installs
# the real services the tests talk to, checks the firmware's no-heap promise,
# runs the fuzz crate's own tests and the whole workspace's, the Linux edge
# node (`retrofit-firmware` feature `linux`, bin `retrofit-node`) included.
# Stops at the first failure with a non-zero status; the last line it
# prints is cargo's test summary. It never edits the tree.
set -euo pipefail
cd "$(dirname "$0")/.."

# One target directory for both workspaces: the fuzz crate reuses the
# workspace's build of the gateway instead of building its own.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

scripts/install-test-deps.sh
scripts/check-no-heap.sh
# Without the default `link_libfuzzer`: the lib's tests need no libFuzzer.
cargo test --manifest-path fuzz/Cargo.toml --lib --no-default-features
# One build of the workspace with the node's `linux` feature on: a second
# `cargo test -p retrofit-firmware --features linux` would resolve the
# shared crates' features differently and build them twice.
cargo test --workspace --features retrofit-firmware/linux
