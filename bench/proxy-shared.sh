#!/usr/bin/env bash
# bench/proxy-shared.sh: two socklab proxies sharing one cache through Redis
# (--cache-store redis://) vs two proxies with independent memory caches,
# in front of one origin (nginx) serving 10k distinct small objects with
# Cache-Control: max-age=3600. Requests are spread over both instances
# (one wrk per instance, random objects, the same Host header so both
# instances build the same cache keys, as behind a load balancer).
# A third setup shares Redis without an L1 (--l1-size 0): every lookup is a
# Redis round trip.
#
# Prints, per setup and phase (cold: caches empty; warm: a second run),
# req/s summed over both instances, the hit ratio the proxies report, and
# how many requests reached the origin; then the ratios shared/independent.
#
# Everything binds to 127.0.0.1 on free ports; every process started here
# is stopped at the end. Usage: bash bench/proxy-shared.sh
# (OBJECTS=10000 REQUESTS=40000 CONNS=16 to tune). Figures are noisy on a
# shared machine: read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

OBJECTS=${OBJECTS:-10000}
REQUESTS=${REQUESTS:-40000} # per instance and phase
DURATION=${DURATION:-60s}   # a cap: a phase ends after REQUESTS
CONNS=${CONNS:-16}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
command -v redis-server >/dev/null || need+=(redis-server)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

WORK=$(mktemp -d /tmp/socklab-bench-shared.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { # wait_port PORT NAME
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "error: $2 did not start on 127.0.0.1:$1" >&2
  return 1
}

echo "== build"
go build -o "$WORK/socklab" ./cmd/socklab
if ! "$WORK/socklab" proxy --help | grep -q -- '--l1-size'; then
  echo "error: this socklab proxy has no shared cache tier flags (--cache-store redis://, --l1-size) yet" >&2
  exit 1
fi

ORIGIN=$(free_port)
REDIS=$(free_port)

echo "== origin: nginx on 127.0.0.1:$ORIGIN ($OBJECTS objects under /obj/N)"
mkdir -p "$WORK/origin"
cat >"$WORK/origin/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $WORK/origin/nginx.pid;
error_log $WORK/origin/error.log;
events { worker_connections 4096; }
http {
  access_log $WORK/origin/access.log;
  keepalive_requests 1000000;
  default_type text/plain;
  server {
    listen 127.0.0.1:$ORIGIN;
    location /obj/ {
      add_header Cache-Control "public, max-age=3600";
      return 200 "object \$uri, padded to look like a small page ..................................................\n";
    }
  }
}
NGINX
nginx -p "$WORK/origin" -c "$WORK/origin/nginx.conf" &
PIDS+=($!)
wait_port "$ORIGIN" origin

echo "== redis on 127.0.0.1:$REDIS"
redis-server --bind 127.0.0.1 --port "$REDIS" --save '' --appendonly no --dir "$WORK" --loglevel warning &
PIDS+=($!)
wait_port "$REDIS" redis

cat >"$WORK/paths.lua" <<LUA
-- Random objects out of $OBJECTS, one Host for every instance; the
-- thread stops after args[2] responses, so every setup serves the same
-- number of requests and the hit ratios compare.
local n = $OBJECTS
local limit, count = 0, 0
init = function(args)
  math.randomseed(tonumber(args[1]) or os.time())
  limit = tonumber(args[2]) or 0
end
request = function()
  return wrk.format("GET", "/obj/" .. math.random(0, n - 1), {["Host"] = "cache.bench"})
end
response = function(status, headers, body)
  count = count + 1
  if limit > 0 and count >= limit then wrk.thread:stop() end
end
LUA

# start_proxy NAME HTTP_PORT ADMIN_PORT [extra flags...]
start_proxy() {
  local name=$1 port=$2 admin=$3
  shift 3
  "$WORK/socklab" proxy --http "127.0.0.1:$port" --upstream "http://127.0.0.1:$ORIGIN" --udp "" \
    --access-log off --admin "127.0.0.1:$admin" --log-level warn "$@" 2>"$WORK/$name.log" &
  PIDS+=($!)
  wait_port "$port" "$name"
  wait_port "$admin" "$name admin"
}

stat() { # stat ADMIN_PORT FIELD: a top-level counter of /_socklab/stats
  curl -s "http://127.0.0.1:$1/_socklab/stats" | grep -o "\"$2\": *[0-9]*" | head -1 | grep -o '[0-9]*$'
}
served() { # served ADMIN_A ADMIN_B: hits + misses on both
  echo $(($(stat "$1" hits) + $(stat "$1" misses) + $(stat "$2" hits) + $(stat "$2" misses)))
}

origin_requests() { wc -l <"$WORK/origin/access.log"; }

declare -A RPS HIT
# run SETUP PHASE PORT_A PORT_B ADMIN_A ADMIN_B
run() {
  local setup=$1 phase=$2 a=$3 b=$4 aa=$5 ab=$6
  local h0 m0 o0
  h0=$(($(stat "$aa" hits) + $(stat "$ab" hits)))
  m0=$(($(stat "$aa" misses) + $(stat "$ab" misses)))
  o0=$(origin_requests)
  # wrk stops its thread after REQUESTS responses but sleeps out -d: the
  # phase is timed here, from the start until the proxies counted them all.
  local n0 target start end
  n0=$(served "$aa" "$ab")
  target=$((2 * REQUESTS))
  start=$(date +%s.%N)
  wrk -t1 -c"$CONNS" -d"$DURATION" -s "$WORK/paths.lua" "http://127.0.0.1:$a/" -- "$RANDOM" "$REQUESTS" >"$WORK/wrk-a" &
  local w1=$!
  wrk -t1 -c"$CONNS" -d"$DURATION" -s "$WORK/paths.lua" "http://127.0.0.1:$b/" -- "$RANDOM" "$REQUESTS" >"$WORK/wrk-b" &
  local w2=$!
  while [ $(($(served "$aa" "$ab") - n0)) -lt "$target" ] && kill -0 "$w1" 2>/dev/null; do sleep 0.05; done
  end=$(date +%s.%N)
  kill "$w1" "$w2" 2>/dev/null || true
  wait "$w1" "$w2" 2>/dev/null || true
  local rps hits misses orig ratio
  rps=$(python3 -c "print(f'{$target / ($end - $start):.0f}')")
  hits=$(($(stat "$aa" hits) + $(stat "$ab" hits) - h0))
  misses=$(($(stat "$aa" misses) + $(stat "$ab" misses) - m0))
  orig=$(($(origin_requests) - o0))
  ratio=$(python3 -c "print(f'{$hits / max($hits + $misses, 1):.3f}')")
  RPS[$setup.$phase]=$rps
  HIT[$setup.$phase]=$ratio
  printf '  %-12s %-5s %8s req/s  hit ratio %s  (%d hits, %d misses, origin saw %d)\n' "$setup" "$phase" "$rps" "$ratio" "$hits" "$misses" "$orig"
  [ "$phase" = warm ] || return 0
  for port in "$aa" "$ab"; do
    curl -s "http://127.0.0.1:$port/_socklab/stats" | python3 -c '
import json, sys
t = json.load(sys.stdin).get("shared_tier")
if t:
    print("    tier (both phases): l1 %(l1_hits)d/%(l1_misses)d hit/miss, redis %(l2_hits)d/%(l2_misses)d, bypasses %(bypasses)d, failures %(failures)d, invalidations in %(invalidations_received)d" % t)
'
  done
}

# setup NAME [proxy flags...]: two instances, then a cold and a warm run.
setup() {
  local name=$1
  shift
  local a b aa ab first=${#PIDS[@]}
  a=$(free_port)
  b=$(free_port)
  aa=$(free_port)
  ab=$(free_port)
  start_proxy "$name-a" "$a" "$aa" "$@"
  start_proxy "$name-b" "$b" "$ab" "$@"
  run "$name" cold "$a" "$b" "$aa" "$ab"
  run "$name" warm "$a" "$b" "$aa" "$ab"
  for pid in "${PIDS[@]:$first}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=("${PIDS[@]:0:$first}")
  grep -h -i "warn" "$WORK/$name-a.log" "$WORK/$name-b.log" | head -4 | cut -c1-400 | sed 's/^/    log: /' || true
}

echo "== $OBJECTS objects, two instances, $REQUESTS random requests to each per phase at once (wrk -t1 -c$CONNS; 2 cores shared: noisy)"
setup independent --cache-size 64MiB
redis-cli -p "$REDIS" flushall >/dev/null
setup shared --cache-store "redis://127.0.0.1:$REDIS/0" --l1-size 64MiB
redis-cli -p "$REDIS" flushall >/dev/null
setup shared-no-l1 --cache-store "redis://127.0.0.1:$REDIS/0" --l1-size 0

echo "== ratios (shared / independent)"
for phase in cold warm; do
  python3 -c '
import sys
phase, rs, ri, hs, hi, rn = sys.argv[1], *map(float, sys.argv[2:])
print(f"  {phase}: req/s {rs/ri:.2f}x, hit ratio {hs:.3f} vs {hi:.3f}; shared without L1: req/s {rn/ri:.2f}x of independent")
' "$phase" "${RPS[shared.$phase]}" "${RPS[independent.$phase]}" "${HIT[shared.$phase]}" "${HIT[independent.$phase]}" "${RPS[shared-no-l1.$phase]}"
done
