#!/usr/bin/env bash
# Set up (if needed) and run every service on its embedded SQLite store, with demo data,
# against the RabbitMQ at AMQP_URI (default: the local one). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash infra/scripts/setup.sh
exec .venv/bin/xieshang up "$@"
