#!/usr/bin/env bash
# Installs everything Outpost needs to build and test on Debian 12 (needs root).
# Set OUTPOST_SKIP_APT_IF_PRESENT=1 to skip apt-get when every package is already installed.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  # fixed libraries
  librocksdb-dev libevent-dev libssl-dev libc-ares-dev libprotobuf-dev protobuf-compiler
  libcereal-dev rapidjson-dev libgtest-dev libgmock-dev googletest
  # allocator of outpostd and scheduler_bench (optional: CMake falls back to glibc malloc)
  libjemalloc2
  # real peers and tools used by the integration tests
  postfix dnsmasq-base python3 python3-aiosmtpd dovecot-lmtpd openssl iproute2 util-linux
  procps strace curl
  # DNSSEC test bed for DANE/MTA-STS (tests/tlsbed)
  bind9 bind9-utils bind9-dnsutils unbound
)

if [[ "${OUTPOST_SKIP_APT_IF_PRESENT:-0}" == 1 ]] && dpkg -s "${PACKAGES[@]}" >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
# Postfix is only a source of smtp-sink/smtp-source here: never configure or start it.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
# Debian's postfix package may start the service; our tests run their own peers only.
if command -v postfix >/dev/null && pgrep -x master >/dev/null 2>&1; then
  $SUDO postfix stop >/dev/null 2>&1 || true
fi
