#!/usr/bin/env bash
# The README's run command. On a fresh Debian 12 (root or sudo): installs the dependencies,
# builds Release in build/release, and runs outpostd in the foreground with
# examples/outpost.json: queue (RocksDB) under var/outpost, SMTP on 127.0.0.1:2525, admin API
# on 127.0.0.1:8025, mail for the local domain `localhost` in Maildir under var/mail, MX for
# the rest. Ctrl-C (SIGINT) drains and stops it; SIGHUP reloads the config.
#   OUTPOST_CONFIG=path   another config
#   OUTPOST_ADMIN_TOKEN   the admin API token (default: generated once into var/admin-token)
#   OUTPOST_BUILD_DIR     build directory (default build/release)
set -euo pipefail
cd "$(dirname "$0")/../.."

OUTPOST_SKIP_APT_IF_PRESENT="${OUTPOST_SKIP_APT_IF_PRESENT:-1}" tools/dev/install-deps.sh
BUILD_DIR="${OUTPOST_BUILD_DIR:-build/release}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j "${OUTPOST_JOBS:-$(nproc)}" --target outpostd outpost

mkdir -p var
if [[ -z "${OUTPOST_ADMIN_TOKEN:-}" ]]; then
  if [[ ! -s var/admin-token ]]; then
    (umask 077 && openssl rand -hex 24 > var/admin-token)
  fi
  OUTPOST_ADMIN_TOKEN="$(cat var/admin-token)"
fi
export OUTPOST_ADMIN_TOKEN
echo "outpostd: SMTP 127.0.0.1:2525, admin http://127.0.0.1:8025 (token in var/admin-token)" >&2
echo "  CLI: OUTPOST_ADMIN_TOKEN=\$(cat var/admin-token) $BUILD_DIR/tools/outpost/outpost queue stats" >&2
exec "$BUILD_DIR/tools/outpostd/outpostd" --config "${OUTPOST_CONFIG:-examples/outpost.json}"
