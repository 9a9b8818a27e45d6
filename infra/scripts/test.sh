#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite against the local RabbitMQ and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash infra/scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
