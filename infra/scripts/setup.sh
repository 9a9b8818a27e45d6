#!/usr/bin/env bash
# Create the virtualenv in .venv and install xieshang with its dependencies (idempotent).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
  echo "xieshang needs Python 3.11 (found: $("$PYTHON" --version 2>&1)). Set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.xieshang-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev,bench]'
  touch "$stamp"
fi
# The console's browser tests (tests/browser): Debian's Chromium and ChromeDriver, CJK fonts for its screenshots,
# and axe-core from npm. Installed where this may install system packages (root: CI, a fresh
# machine); elsewhere the tests say what is missing.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null; }
  fi
fi
if command -v npm >/dev/null 2>&1 && [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  npm ci --prefix tests/browser --no-audit --no-fund --silent
fi
# The official AsyncAPI parser, which checks docs/integration/asyncapi.json (tests/services/test_asyncapi.py).
if command -v npm >/dev/null 2>&1 && [ ! -f tests/contract/node_modules/@asyncapi/parser/package.json ]; then
  npm ci --prefix tests/contract --no-audit --no-fund --silent --ignore-scripts
fi
