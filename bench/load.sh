#!/usr/bin/env bash
# bench/load.sh: socklab load against hey and wrk, same target, same number
# of connections, same duration. One nginx on loopback serves a small file;
# each tool runs ROUNDS short rounds, interleaved so background noise hits
# all alike, and the best round of each counts. Prints req/s and the ratios
# (targets: socklab >= 1.0x hey, >= 0.8x wrk).
#
#   bash bench/load.sh                      # 50 connections, 3 rounds of 3s
#   CONNS=10 DURATION=5 ROUNDS=5 bash bench/load.sh
#
# Loopback only. On a shared machine the figures are noisy; compare ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-50}
DURATION=${DURATION:-3}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18089}
URL="http://127.0.0.1:${PORT}/small.html"

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v hey >/dev/null 2>&1 || need+=(hey)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing ${need[*]}: run as root or apt-get install ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d)
chmod 755 "$tmp" # nginx workers run as an unprivileged user
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/socklab" ./cmd/socklab

mkdir -p "$tmp/www" "$tmp/logs"
head -c 600 /dev/zero | tr '\0' 'x' >"$tmp/www/small.html"
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  server {
    listen 127.0.0.1:$PORT;
    root $tmp/www;
  }
}
CONF
"$NGINX" -p "$tmp" -c "$tmp/nginx.conf" &
nginx_pid=$!
ok=""
for _ in $(seq 50); do
  if "$tmp/socklab" get --json "$URL" 2>/dev/null | grep -q '"status": 200'; then ok=1; break; fi
  sleep 0.1
done
if [ -z "$ok" ]; then
  echo "nginx did not serve $URL with 200:" >&2
  "$tmp/socklab" get "$URL" >&2 || true
  cat "$tmp/logs/error.log" >&2 || true
  exit 1
fi

run_socklab() { "$tmp/socklab" load --json -c "$CONNS" -d "${DURATION}s" "$URL" | sed -n 's/.*"requests_per_sec": \([0-9.]*\).*/\1/p'; }
run_hey()     { hey -c "$CONNS" -z "${DURATION}s" "$URL" | awk '/Requests\/sec:/ {print $2}'; }
run_wrk()     { wrk -t 2 -c "$CONNS" -d "${DURATION}s" "$URL" | awk '/Requests\/sec:/ {print $2}'; }

# measure TOOL: prints "req/s cpu-µs-per-request". The CPU cost per request
# (user+sys of the load tool) is steadier than req/s on a shared machine.
measure() {
  local out cpu
  TIMEFORMAT='%U %S'
  { time "run_$1" >"$tmp/rps" ; } 2>"$tmp/cpu"
  out=$(cat "$tmp/rps")
  cpu=$(awk '{print $1 + $2}' "$tmp/cpu")
  awk -v r="$out" -v c="$cpu" -v d="$DURATION" 'BEGIN { printf "%.0f %.1f\n", r, (r > 0 ? c * 1e6 / (r * d) : 0) }'
}

best() { printf '%s\n' "$@" | sort -g | tail -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
s=(); h=(); w=(); sc=(); hc=(); wc=()
echo "target $URL (600 B), $CONNS connections, $ROUNDS rounds of ${DURATION}s, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  read -r a ac < <(measure socklab)
  read -r b bc < <(measure hey)
  read -r c cc < <(measure wrk)
  printf 'round %d  socklab %8.0f req/s %5.1f us/req   hey %8.0f req/s %5.1f us/req   wrk %8.0f req/s %5.1f us/req\n' "$r" "$a" "$ac" "$b" "$bc" "$c" "$cc"
  s+=("$a"); h+=("$b"); w+=("$c"); sc+=("$ac"); hc+=("$bc"); wc+=("$cc")
done
S=$(best "${s[@]}"); H=$(best "${h[@]}"); W=$(best "${w[@]}")
SC=$(median "${sc[@]}"); HC=$(median "${hc[@]}"); WC=$(median "${wc[@]}")
printf 'best     socklab %8.0f  hey %8.0f  wrk %8.0f req/s\n' "$S" "$H" "$W"
printf 'median   socklab %8.1f  hey %8.1f  wrk %8.1f CPU us per request (lower is better)\n' "$SC" "$HC" "$WC"
awk -v s="$S" -v h="$H" -v w="$W" -v sc="$SC" -v hc="$HC" -v wc="$WC" 'BEGIN {
  printf "ratio    req/s: socklab/hey %.2fx (target >= 1.0)   socklab/wrk %.2fx (target >= 0.8)\n", s/h, s/w
  printf "         efficiency (CPU per request, hey or wrk / socklab): vs hey %.2fx   vs wrk %.2fx\n", hc/sc, wc/sc }'
