#!/usr/bin/env bash
# Installs what the test suite talks to: a real Mosquitto broker, a real
# VictoriaMetrics store, socat (pseudo-terminal serial links), headless
# Chromium and its WebDriver (the dashboard's browser test), and the
# pinned Python test peers (scripts/requirements-test.txt) in the
# project-local virtual environment .venv (tests find it at .venv/bin/python).
# Idempotent: installs only what is missing. Needs root (or sudo) for apt.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v victoria-metrics >/dev/null 2>&1 || need+=(victoria-metrics)
command -v socat >/dev/null 2>&1 || need+=(socat)
# The dashboard's browser test: headless Chromium over WebDriver.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

cd "$(dirname "$0")/.."
requirements=scripts/requirements-test.txt
stamp=.venv/requirements.installed
if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
  echo "installing python test peers into .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
echo "test dependencies present: mosquitto victoria-metrics socat chromium chromedriver .venv ($(.venv/bin/python --version))"
