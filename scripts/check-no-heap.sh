#!/usr/bin/env bash
# Checks the firmware's "no heap" promise (spec §2): built without default
# features, neither retrofit-firmware nor retrofit-protocols may pull in a
# crate with its `std` or `alloc` feature turned on, and both must compile
# as no_std. Host-only code (build scripts, proc macros) is left out: it
# never runs on the node. Exits non-zero after naming every breach: the
# crate, the feature and the dependency path that turns it on. It only
# reads manifests and builds; it never edits one.
set -euo pipefail
cd "$(dirname "$0")/.."

# An embedded target, so that target-specific dependencies resolve as on the
# node; `cargo tree` needs only its name, not its standard library.
target=thumbv7em-none-eabihf
edges=normal,no-proc-macro
failed=0

check_graph() {
  local pkg=$1 graph package features name version _ feature
  graph=$(cargo tree -q -p "$pkg" --no-default-features --target "$target" \
    -e "$edges" --prefix none -f '{p}|{f}' | sed 's/ (\*)$//' | sort -u)
  while IFS='|' read -r package features; do
    read -r name version _ <<<"$package"
    for feature in ${features//,/ }; do
      case $feature in
        std | alloc)
          echo "no-heap check FAILED: $pkg (no default features) turns on feature \`$feature\` of $name $version, through:" >&2
          cargo tree -q -p "$pkg" --no-default-features --target "$target" \
            -e "features,$edges" -i "$name@${version#v}" 2>&1 | sed 's/^/    /' >&2
          failed=1
          ;;
      esac
    done
  done <<<"$graph"
}

for pkg in retrofit-firmware retrofit-protocols; do
  check_graph "$pkg"
done
if [ "$failed" -ne 0 ]; then
  exit 1
fi

# The graph holds no std/alloc; now prove the crates' own code needs none.
if ! cargo check -q -p retrofit-firmware -p retrofit-protocols --no-default-features --lib; then
  echo "no-heap check FAILED: retrofit-firmware or retrofit-protocols does not compile without std and alloc (see the errors above)" >&2
  exit 1
fi
echo "no-heap check passed: retrofit-firmware and retrofit-protocols use neither std nor alloc"
