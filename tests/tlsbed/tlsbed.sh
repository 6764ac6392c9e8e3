#!/usr/bin/env bash
# Outpost TLS policy test bed: a DNSSEC-signed ".test" hierarchy served by BIND, a validating
# Unbound in front of it, STARTTLS SMTP sinks (aiosmtpd) and an HTTPS MTA-STS policy server,
# all on loopback. Recipe: /work/shared/reference/tls-policy-testbed.md (RFC 7672, 8461, 8460).
#
#   tlsbed.sh up      start everything (fresh keys, signatures, certificates every time)
#   tlsbed.sh down    stop every process it started, by PID, and remove the directory
#   tlsbed.sh status  show what runs
#
# Everything lives in $TLSTB_DIR (default /tmp/outpost-tlsbed-$UID). `up` writes
# $TLSTB_DIR/env (KEY=VALUE lines) for tests: ports, IPs, CA file, TLSA data, PIDs.
# Overrides: AUTH_PORT RESOLVER_PORT SMTP_PORT HTTPS_PORT (default: free ports picked at
# start), DANE_MX_IP (127.0.0.5) STS_MX_IP (127.0.0.6) STS_WEB_IP (127.0.0.7), TLSTB_NO_SMTP=1
# (skip the SMTP sinks). Needs: named, dnssec-keygen, dnssec-signzone (bind9, bind9-utils),
# unbound, dig (bind9-dnsutils), openssl, /usr/bin/python3 with python3-aiosmtpd.
#
# Zones (TTL 30):
#   test.          signed, trust anchor; DS for dane.test and bogus.test; insecure/sts unsigned
#   dane.test      MX mx.dane.test (DANE_MX_IP), TLSA 3 1 1 of the sink's key  -> DANE ok
#   badtlsa.dane.test MX mx-badtlsa.dane.test, TLSA 3 1 1 wrong hash         -> must defer
#   bogus.test     MX mx.bogus.test, TLSA altered after signing (SERVFAIL)   -> must defer
#   insecure.test  MX mx.insecure.test, TLSA present but no DS (no AD)       -> ignore TLSA
#   sts.test       MX mx.sts.test (STS_MX_IP), mta-sts A STS_WEB_IP, _mta-sts and _smtp._tls TXT
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TLSTB_DIR="${TLSTB_DIR:-/tmp/outpost-tlsbed-$(id -u)}"
DANE_MX_IP="${DANE_MX_IP:-127.0.0.5}"
STS_MX_IP="${STS_MX_IP:-127.0.0.6}"
STS_WEB_IP="${STS_WEB_IP:-127.0.0.7}"
PY=/usr/bin/python3

die() { echo "tlsbed: $*" >&2; exit 1; }

# A TCP+UDP port free on IP $1 (kernel-chosen).
free_port() {
  "$PY" - "$1" <<'PYEOF'
import socket, sys
ip = sys.argv[1]
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind((ip, 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind((ip, port))
    except OSError:
        t.close(); continue
    u.close(); t.close()
    print(port); break
PYEOF
}

# Refuses to start on a port that is taken (TCP) on IP $1.
check_free() {
  "$PY" -c "import socket,sys; s=socket.socket(); s.bind(('$1', $2))" 2>/dev/null ||
    die "port $1:$2 is already in use"
}

need() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || die "missing $1 (install: $2)"; }

# True while PID $1 runs. Our daemons are reparented when `up` returns, and a zombie still
# answers kill -0 until its new parent reaps it, so the state letter decides.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != "Z" ]
}

stop_pids() {
  local f pid
  for f in "$TLSTB_DIR"/run/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    if [ -n "$pid" ] && alive "$pid"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.05; done
      alive "$pid" && kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$f"
  done
}

cmd_down() {
  [ -d "$TLSTB_DIR" ] || return 0
  stop_pids
  rm -rf "$TLSTB_DIR"
}

cmd_status() {
  local f
  for f in "$TLSTB_DIR"/run/*.pid; do
    [ -e "$f" ] || continue
    if alive "$(cat "$f")"; then echo "$(basename "$f" .pid) running ($(cat "$f"))";
    else echo "$(basename "$f" .pid) dead"; fi
  done
}

make_certs() {
  local c="$TLSTB_DIR/certs"
  mkdir -p "$c"
  cd "$c"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  # The DANE sink: self-signed (DANE-EE needs no CA).
  openssl req -x509 "${ec[@]}" -days 30 -keyout mx-dane.key -out mx-dane.crt \
    -subj /CN=mx.dane.test -addext subjectAltName=DNS:mx.dane.test 2>/dev/null
  # The private CA for MTA-STS (PKIX).
  openssl req -x509 "${ec[@]}" -days 30 -keyout ca.key -out ca.pem -subj "/CN=Outpost Test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  local name
  for name in mx.sts.test mta-sts.sts.test; do
    openssl req "${ec[@]}" -keyout "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
      "$name" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
      -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  done
  TLSA_311="$(openssl x509 -in mx-dane.crt -noout -pubkey | openssl pkey -pubin -outform DER |
    openssl dgst -sha256 -r | cut -d' ' -f1)"
  # Same length, not the key's hash: the last hex digit flipped.
  local last="${TLSA_311: -1}" flip
  if [ "$last" = "0" ]; then flip=1; else flip=0; fi
  TLSA_BAD="${TLSA_311%?}$flip"
  cd - >/dev/null
}

tlsa_lines() {  # $1 owner prefix ("mx"), $2 hex
  echo "_25._tcp.$1 TLSA 3 1 1 $2"
  [ "$SMTP_PORT" = "25" ] || echo "_$SMTP_PORT._tcp.$1 TLSA 3 1 1 $2"
}

soa() {
  printf '$TTL 30\n@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 30\n@ NS ns.test.\n'
}

make_zones() {
  local z="$TLSTB_DIR/zones" k="$TLSTB_DIR/keys"
  local RPT_PORT=""
  [ "$HTTPS_PORT" = "443" ] || RPT_PORT=":$HTTPS_PORT"
  mkdir -p "$z" "$k"
  { soa; echo "@ MX 10 mx.dane.test."; echo "mx A $DANE_MX_IP"; tlsa_lines mx "$TLSA_311"
    echo "badtlsa MX 10 mx-badtlsa.dane.test."; echo "mx-badtlsa A $DANE_MX_IP"
    tlsa_lines mx-badtlsa "$TLSA_BAD"; } > "$z/dane.test.zone"
  { soa; echo "@ MX 10 mx.bogus.test."; echo "mx A $DANE_MX_IP"; tlsa_lines mx "$TLSA_311"; } \
    > "$z/bogus.test.zone"
  { soa; echo "@ MX 10 mx.insecure.test."; echo "mx A $DANE_MX_IP"; tlsa_lines mx "$TLSA_311"; } \
    > "$z/insecure.test.zone"
  { soa; echo "@ MX 10 mx.sts.test."; echo "mx A $STS_MX_IP"; echo "mta-sts A $STS_WEB_IP"
    echo '_mta-sts TXT "v=STSv1; id=20240101T000000;"'
    # The report URI names the bed's HTTPS port (443 is implied when it is 443).
    echo "_smtp._tls TXT \"v=TLSRPTv1; rua=https://mta-sts.sts.test$RPT_PORT/tlsrpt,mailto:tlsrpt@sts.test\""
  } > "$z/sts.test.zone"
  { soa; echo "ns A 127.0.0.1"
    local child
    for child in dane bogus insecure sts; do echo "$child NS ns.test."; done; } > "$z/test.zone"

  local zone
  for zone in dane.test bogus.test test; do
    dnssec-keygen -q -K "$k" -a ECDSAP256SHA256 -f KSK -n ZONE "$zone" > /dev/null
  done
  for zone in dane.test bogus.test; do
    dnssec-signzone -q -O full -S -z -K "$k" -d "$z" -o "$zone" -f "$z/$zone.signed" \
      "$z/$zone.zone" > /dev/null
  done
  # bogus.test: change the TLSA data after signing; its RRSIG no longer verifies.
  awk -v bad="$TLSA_BAD" '$4 == "TLSA" { $8 = bad } { print }' "$z/bogus.test.signed" \
    > "$z/bogus.test.signed.tmp"
  mv "$z/bogus.test.signed.tmp" "$z/bogus.test.signed"
  cat "$z/dsset-dane.test." "$z/dsset-bogus.test." >> "$z/test.zone"
  dnssec-signzone -q -O full -S -z -K "$k" -d "$z" -o test -f "$z/test.signed" \
    "$z/test.zone" > /dev/null
  grep -hv '^;' "$k"/Ktest.+013+*.key > "$TLSTB_DIR/test.anchor"
}

start_bg() {  # name, then the command; records the PID
  local name="$1"; shift
  "$@" > "$TLSTB_DIR/run/$name.log" 2>&1 &
  echo $! > "$TLSTB_DIR/run/$name.pid"
}

start_dns() {
  local z="$TLSTB_DIR/zones"
  cat > "$TLSTB_DIR/named.conf" <<CONF
options { directory "$z"; pid-file none; listen-on port $AUTH_PORT { 127.0.0.1; };
  listen-on-v6 { none; }; recursion no; dnssec-validation no; notify no;
  session-keyfile none; managed-keys-directory "$TLSTB_DIR/run"; };
controls { };
zone "test." { type primary; file "test.signed"; };
zone "dane.test." { type primary; file "dane.test.signed"; };
zone "bogus.test." { type primary; file "bogus.test.signed"; };
zone "insecure.test." { type primary; file "insecure.test.zone"; };
zone "sts.test." { type primary; file "sts.test.zone"; };
CONF
  {
    cat <<CONF
server:
    interface: 127.0.0.1@$RESOLVER_PORT
    port: $RESOLVER_PORT
    do-ip6: no
    interface-automatic: no
    outgoing-interface: 127.0.0.1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$TLSTB_DIR"
    pidfile: ""
    use-syslog: no
    logfile: "$TLSTB_DIR/run/unbound-detail.log"
    module-config: "validator iterator"
    trust-anchor-file: "$TLSTB_DIR/test.anchor"
    local-zone: "test." nodefault
    ede: yes
    val-log-level: 2
    trust-anchor-signaling: no
    qname-minimisation: no
    cache-max-ttl: 5
    cache-max-negative-ttl: 5
remote-control:
    control-enable: no
CONF
    local zone
    for zone in test. dane.test. bogus.test. insecure.test. sts.test. .; do
      printf 'stub-zone:\n    name: "%s"\n    stub-addr: 127.0.0.1@%s\n' "$zone" "$AUTH_PORT"
    done
  } > "$TLSTB_DIR/unbound.conf"
  named-checkconf "$TLSTB_DIR/named.conf" || die "named.conf invalid"
  start_bg named named -g -c "$TLSTB_DIR/named.conf"
  start_bg unbound unbound -d -c "$TLSTB_DIR/unbound.conf"
}

start_peers() {
  local c="$TLSTB_DIR/certs"
  mkdir -p "$TLSTB_DIR/www/sts.test" "$TLSTB_DIR/tlsrpt" "$TLSTB_DIR/mail"
  printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\nmax_age: 86400\r\n' \
    > "$TLSTB_DIR/www/sts.test/mta-sts.txt"
  start_bg https "$PY" "$HERE/policy_server.py" --ip "$STS_WEB_IP" --port "$HTTPS_PORT" \
    --cert "$c/mta-sts.sts.test.crt" --key "$c/mta-sts.sts.test.key" \
    --www "$TLSTB_DIR/www" --tlsrpt "$TLSTB_DIR/tlsrpt"
  if [ "${TLSTB_NO_SMTP:-0}" != "1" ]; then
    start_bg smtp-dane "$PY" "$HERE/smtp_sink.py" --ip "$DANE_MX_IP" --port "$SMTP_PORT" \
      --name mx.dane.test --cert "$c/mx-dane.crt" --key "$c/mx-dane.key" --mail "$TLSTB_DIR/mail"
    start_bg smtp-sts "$PY" "$HERE/smtp_sink.py" --ip "$STS_MX_IP" --port "$SMTP_PORT" \
      --name mx.sts.test --cert "$c/mx.sts.test.crt" --key "$c/mx.sts.test.key" \
      --mail "$TLSTB_DIR/mail"
  fi
}

# Waits until $1 is a TCP listener on IP $2 port $3 (or the process died).
wait_tcp() {
  local name="$1" ip="$2" port="$3"
  for _ in $(seq 1 100); do
    alive "$(cat "$TLSTB_DIR/run/$name.pid")" ||
      die "$name exited: $(tail -5 "$TLSTB_DIR/run/$name.log")"
    "$PY" -c "import socket; socket.create_connection(('$ip', $port), 0.2).close()" 2>/dev/null &&
      return 0
    sleep 0.1
  done
  die "$name did not listen on $ip:$port"
}

wait_dns() {
  for _ in $(seq 1 100); do
    if dig +tries=1 +time=1 +dnssec -p "$RESOLVER_PORT" @127.0.0.1 dane.test MX 2>/dev/null |
        grep -q 'flags:.* ad'; then
      return 0
    fi
    sleep 0.1
  done
  die "resolver did not validate dane.test MX: $(tail -5 "$TLSTB_DIR/run/named.log")"
}

cmd_up() {
  need named bind9; need dnssec-keygen bind9-utils; need dnssec-signzone bind9-utils
  need named-checkconf bind9-utils; need unbound unbound; need dig bind9-dnsutils
  need openssl openssl; need "$PY" python3
  cmd_down
  mkdir -p "$TLSTB_DIR/run"
  AUTH_PORT="${AUTH_PORT:-$(free_port 127.0.0.1)}"
  RESOLVER_PORT="${RESOLVER_PORT:-$(free_port 127.0.0.1)}"
  [ "$RESOLVER_PORT" != "$AUTH_PORT" ] || RESOLVER_PORT="$(free_port 127.0.0.1)"
  SMTP_PORT="${SMTP_PORT:-$(free_port "$DANE_MX_IP")}"
  HTTPS_PORT="${HTTPS_PORT:-$(free_port "$STS_WEB_IP")}"
  check_free 127.0.0.1 "$AUTH_PORT"; check_free 127.0.0.1 "$RESOLVER_PORT"
  check_free "$DANE_MX_IP" "$SMTP_PORT"; check_free "$STS_MX_IP" "$SMTP_PORT"
  check_free "$STS_WEB_IP" "$HTTPS_PORT"
  trap 'stop_pids' ERR
  make_certs
  make_zones
  start_dns
  start_peers
  wait_tcp named 127.0.0.1 "$AUTH_PORT"
  wait_tcp unbound 127.0.0.1 "$RESOLVER_PORT"
  wait_tcp https "$STS_WEB_IP" "$HTTPS_PORT"
  if [ "${TLSTB_NO_SMTP:-0}" != "1" ]; then
    wait_tcp smtp-dane "$DANE_MX_IP" "$SMTP_PORT"
    wait_tcp smtp-sts "$STS_MX_IP" "$SMTP_PORT"
  fi
  wait_dns
  trap - ERR
  {
    echo "TLSTB_DIR=$TLSTB_DIR"
    echo "AUTH_PORT=$AUTH_PORT"
    echo "RESOLVER_PORT=$RESOLVER_PORT"
    echo "RESOLVER=127.0.0.1:$RESOLVER_PORT"
    echo "SMTP_PORT=$SMTP_PORT"
    echo "HTTPS_PORT=$HTTPS_PORT"
    echo "DANE_MX_IP=$DANE_MX_IP"
    echo "STS_MX_IP=$STS_MX_IP"
    echo "STS_WEB_IP=$STS_WEB_IP"
    echo "TEST_CA=$TLSTB_DIR/certs/ca.pem"
    echo "TLSA_311=$TLSA_311"
    echo "TLSA_BAD=$TLSA_BAD"
    echo "MAIL_DIR=$TLSTB_DIR/mail"
    echo "TLSRPT_DIR=$TLSTB_DIR/tlsrpt"
    echo "WWW_DIR=$TLSTB_DIR/www"
    local f
    for f in "$TLSTB_DIR"/run/*.pid; do
      echo "PID_$(basename "$f" .pid | tr 'a-z-' 'A-Z_')=$(cat "$f")"
    done
  } > "$TLSTB_DIR/env"
  cat "$TLSTB_DIR/env"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
