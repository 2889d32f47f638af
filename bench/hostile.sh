#!/usr/bin/env bash
# bench/hostile.sh: socklab and nginx under the same hostile clients, side
# by side, on loopback (issue 13).
#
#   slowloris   4,600 reconnecting connections that never finish their
#               request headers, against `socklab serve` and nginx, both
#               capped at 4,096 connections (--max-conns 4096;
#               worker_connections 4096, one worker) with a 10 s header
#               timeout (--read-header-timeout; client_header_timeout).
#   headerbomb  400 connections pushing unfinished header lines (8 KiB
#               lines, up to 1 MiB each) against `socklab proxy` and an
#               nginx proxy_pass, both in front of the same socklab serve.
#
# For each it prints a normal client's p50/p99 (200 GETs from a process of
# its own, as a real client's would be, each on a new
# connection, beside the attack), its failures, and the server's peak RSS
# (children included), and the server's CPU while the normal client ran:
# its share of one core, the attackers' connections per second and the
# server's CPU time per attacker connection. Targets: p99 under 50 ms beside the slowloris;
# proxy RSS under 256 MiB under the header bomb.
#
# Every figure is noisy on a small shared machine (the attackers, the
# servers and the probe share its cores): compare the two servers, not the
# absolute numbers. Bounded: each phase runs about 10-20 s.
#
#   bash bench/hostile.sh
#   SLOW_CONNS=1000 BOMB_CONNS=100 N=100 bash bench/hostile.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SLOW_CONNS=${SLOW_CONNS:-4600}
CAP=${CAP:-4096}
BOMB_CONNS=${BOMB_CONNS:-400}
BOMB_BYTES=${BOMB_BYTES:-1048576}
N=${N:-200}
WARMUP=${WARMUP:-5s}
SOCK_PORT=${SOCK_PORT:-18490}
NGINX_PORT=${NGINX_PORT:-18491}
ORIGIN_PORT=${ORIGIN_PORT:-18492}
SPROXY_PORT=${SPROXY_PORT:-18493}
NPROXY_PORT=${NPROXY_PORT:-18494}
PHASES=${PHASES:-slowloris headerbomb} # either or both

command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || {
  echo "bench/hostile.sh: needs nginx (apt-get install nginx-light)" >&2
  exit 1
}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
ulimit -n "$(ulimit -Hn)" # 4,600 attackers + 4,096 server connections

work=$(mktemp -d /tmp/socklab-bench-hostile.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www" "$work/logs"
{
  echo "<!doctype html><title>hostile bench</title>"
  head -c 768 /dev/zero | tr '\0' 'x'
} >"$work/www/index.html"
chmod -R a+rX "$work"

echo "== build"
go build -o "$work/socklab" ./cmd/socklab
go build -o "$work/hostilebench" ./bench/hostilebench

# wait_http URL: until it answers 200 (10 s at most).
wait_http() {
  for _ in $(seq 100); do
    curl -fsS --noproxy '*' -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench/hostile.sh: $1 never answered" >&2
  exit 1
}

# stop PID: end one server of this script.
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

nginx_conf() { # nginx_conf NAME BODY
  cat >"$work/$1.conf" <<NGINX
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $work/$1.pid;
error_log $work/logs/$1.log crit;
events { worker_connections $CAP; }
http {
  access_log off;
  client_header_timeout 10s;
  client_body_temp_path $work/tmp_body;
  proxy_temp_path $work/tmp_proxy;
  fastcgi_temp_path $work/tmp_fastcgi;
  uwsgi_temp_path $work/tmp_uwsgi;
  scgi_temp_path $work/tmp_scgi;
  $2
}
NGINX
}

declare -A result
attack() { # attack NAME KIND PORT PID [PROBE_URL]
  local out
  out=$("$work/hostilebench" -attack "$2" -target "127.0.0.1:$3" -pid "$4" -n "$N" -warmup "$WARMUP" \
    -conns "$([ "$2" = slowloris ] && echo "$SLOW_CONNS" || echo "$BOMB_CONNS")" \
    -bomb-bytes "$BOMB_BYTES" ${5:+-probe-url "$5"})
  echo "  $1: $out"
  result[$1]=$out
}

if [[ " $PHASES " == *" slowloris "* ]]; then
echo "== slowloris: $SLOW_CONNS reconnecting half-sent connections, cap $CAP"
"$work/socklab" serve --http "127.0.0.1:$SOCK_PORT" --udp off --root "$work/www" \
  --access-log off --log-level error --max-conns "$CAP" --read-header-timeout 10s &
sp=$!
pids+=("$sp")
wait_http "http://127.0.0.1:$SOCK_PORT/"
attack "socklab serve" slowloris "$SOCK_PORT" "$sp"
stop "$sp"

nginx_conf serve "server { listen 127.0.0.1:$NGINX_PORT backlog=4096; root $work/www; }"
"$NGINX" -p "$work" -c "$work/serve.conf" &
np=$!
pids+=("$np")
wait_http "http://127.0.0.1:$NGINX_PORT/"
attack "nginx" slowloris "$NGINX_PORT" "$np"
stop "$np"
fi

if [[ " $PHASES " == *" headerbomb "* ]]; then
echo "== header bomb: $BOMB_CONNS connections pushing unfinished header lines, up to $BOMB_BYTES bytes each"
"$work/socklab" serve --http "127.0.0.1:$ORIGIN_PORT" --udp off --root "$work/www" \
  --access-log off --log-level error --max-conns -1 &
pids+=($!)
wait_http "http://127.0.0.1:$ORIGIN_PORT/"
"$work/socklab" proxy --http "127.0.0.1:$SPROXY_PORT" --udp "" --upstream "http://127.0.0.1:$ORIGIN_PORT" \
  --cache-size 0 --access-log off --log-level error &
spp=$!
pids+=("$spp")
wait_http "http://127.0.0.1:$SPROXY_PORT/"
attack "socklab proxy" headerbomb "$SPROXY_PORT" "$spp"
stop "$spp"

nginx_conf proxy "server { listen 127.0.0.1:$NPROXY_PORT backlog=4096; location / { proxy_pass http://127.0.0.1:$ORIGIN_PORT; } }"
"$NGINX" -p "$work" -c "$work/proxy.conf" &
npp=$!
pids+=("$npp")
wait_http "http://127.0.0.1:$NPROXY_PORT/"
attack "nginx proxy" headerbomb "$NPROXY_PORT" "$npp"
stop "$npp"
fi

echo "== result (machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-12s %-14s %9s %9s %9s %9s %9s %11s %12s\n' attack server p50_ms p99_ms failed rss_mib cpu_share attack_conn/s cpu_us/conn
for row in "slowloris:socklab serve" "slowloris:nginx" "headerbomb:socklab proxy" "headerbomb:nginx proxy"; do
  kind=${row%%:*}
  name=${row#*:}
  line=${result[$name]:-}
  [ -n "$line" ] || continue
  get() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$line"; }
  printf '%-12s %-14s %9s %9s %9s %9s %9s %11s %12s\n' "$kind" "$name" "$(get p50_ms)" "$(get p99_ms)" "$(get failed)" "$(get rss_peak_mib)" \
    "$(get server_cpu_share)" "$(get attack_connects_per_s)" "$(get server_cpu_us_per_connect)"
done
echo "targets: p99 < 50 ms beside the slowloris; proxy RSS < 256 MiB under the header bomb"
