#!/usr/bin/env bash
# bench/proxy.sh: socklab proxy vs Varnish, nginx proxy_cache and Squid,
# each a reverse cache in front of one origin (nginx) serving a 1 KiB object
# with Cache-Control: max-age=3600. Everything binds to 127.0.0.1 on free
# ports and every process started here is stopped at the end.
#
# Prints: cache-hit req/s per proxy (wrk rounds interleaved) and the ratio
# socklab/peer, with each proxy's CPU time per hit (utime+stime of it and its
# children from /proc, before/after each round) and the targets (hits >=
# 1.0x Varnish and nginx); the added latency of a cold miss (p50 over going
# direct, target <= +0.28 ms) and its ratio to Varnish's and nginx's;
# socklab's RSS after filling its cache well past --cache-size.
#
# Usage: bash bench/proxy.sh            (ROUNDS=3 DURATION=4s CONNS=32 to tune)
# Needs root for apt-get when a peer is missing. Figures are noisy on a
# shared machine: read the ratios, not the absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-4s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
CACHE_SIZE_MIB=${CACHE_SIZE_MIB:-256}
FILL_SECONDS=${FILL_SECONDS:-15}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
command -v varnishd >/dev/null || need+=(varnish)
command -v squid >/dev/null || need+=(squid)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Best effort: a peer that cannot be installed (no network) is skipped.
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } 2>/dev/null; then
    echo "note: could not install ${need[*]}; a missing peer is skipped"
  fi
fi
for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done
# Debian starts packaged daemons on install; this benchmark runs its own.
for svc in varnish squid nginx; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    echo "note: the system $svc service is running; it is left alone"
  fi
done

WORK=$(mktemp -d /tmp/socklab-bench-proxy.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx-cache/nginx.pid" ] && kill "$(cat "$WORK/nginx-cache/nginx.pid")" 2>/dev/null || true
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

ORIGIN=$(free_port); SOCKLAB=$(free_port); VARNISH=$(free_port); NGINXC=$(free_port); SQUID=$(free_port); FILL=$(free_port); ADMIN=$(free_port)

echo "== origin: nginx on 127.0.0.1:$ORIGIN"
mkdir -p "$WORK/www" "$WORK/origin"
head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 >"$WORK/www/obj"
head -c $((128 * 1024)) /dev/urandom >"$WORK/www/big.bin"
cat >"$WORK/origin/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/origin/nginx.pid;
error_log $WORK/origin/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$ORIGIN;
    root $WORK/www;
    location / { add_header Cache-Control "public, max-age=3600"; }
    location /fill/ { rewrite ^ /big.bin break; add_header Cache-Control "public, max-age=3600"; }
  }
}
EOF
nginx -p "$WORK/origin" -c "$WORK/origin/nginx.conf" &
PIDS+=($!)
wait_port "$ORIGIN" origin

echo "== socklab proxy on 127.0.0.1:$SOCKLAB"
"$WORK/socklab" proxy --http "127.0.0.1:$SOCKLAB" --upstream "http://127.0.0.1:$ORIGIN" --udp "" \
  --access-log off --cache-size "${CACHE_SIZE_MIB}MiB" --log-level warn &
PIDS+=($!)
declare -A MAINPID=([socklab]=$!)
wait_port "$SOCKLAB" socklab

echo "== varnish on 127.0.0.1:$VARNISH"
peers=(socklab)
if command -v varnishd >/dev/null; then
varnishd -a "127.0.0.1:$VARNISH" -b "127.0.0.1:$ORIGIN" -s "malloc,${CACHE_SIZE_MIB}m" \
  -n "$WORK/varnish" -T none -F >"$WORK/varnish.log" 2>&1 &
PIDS+=($!)
MAINPID[varnish]=$!
if wait_port "$VARNISH" varnish; then peers+=(varnish); else tail -5 "$WORK/varnish.log" | sed 's/^/  varnish: /'; fi
fi

echo "== nginx proxy_cache on 127.0.0.1:$NGINXC"
mkdir -p "$WORK/nginx-cache/cache"
cat >"$WORK/nginx-cache/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $WORK/nginx-cache/nginx.pid;
error_log $WORK/nginx-cache/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  proxy_cache_path $WORK/nginx-cache/cache keys_zone=c:16m max_size=${CACHE_SIZE_MIB}m;
  upstream origin { server 127.0.0.1:$ORIGIN; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINXC;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache c;
      proxy_cache_lock on;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
EOF
nginx -p "$WORK/nginx-cache" -c "$WORK/nginx-cache/nginx.conf" &
PIDS+=($!)
MAINPID[nginx]=$!
if wait_port "$NGINXC" nginx-cache; then peers+=(nginx); fi

if command -v squid >/dev/null; then
echo "== squid on 127.0.0.1:$SQUID"
mkdir -p "$WORK/squid"
chmod 777 "$WORK/squid"
cat >"$WORK/squid/squid.conf" <<EOF
http_port 127.0.0.1:$SQUID accel defaultsite=127.0.0.1:$ORIGIN no-vhost
cache_peer 127.0.0.1 parent $ORIGIN 0 no-query originserver name=origin
cache_peer_access origin allow all
http_access allow all
cache_mem $CACHE_SIZE_MIB MB
maximum_object_size_in_memory 1 MB
access_log none
cache_store_log none
cache_log $WORK/squid/cache.log
pid_filename $WORK/squid/squid.pid
coredump_dir $WORK/squid
icp_port 0
htcp_port 0
shutdown_lifetime 1 second
EOF
squid -N -f "$WORK/squid/squid.conf" >"$WORK/squid/stdout.log" 2>&1 &
PIDS+=($!)
MAINPID[squid]=$!
if wait_port "$SQUID" squid; then peers+=(squid); else tail -5 "$WORK/squid/cache.log" "$WORK/squid/stdout.log" 2>/dev/null | sed 's/^/  squid: /'; fi
else
  echo "== squid: not installed, skipped"
fi

declare -A PORT=([socklab]=$SOCKLAB [varnish]=$VARNISH [nginx]=$NGINXC [squid]=$SQUID [direct]=$ORIGIN)
# cpu_ticks PID: CPU time (clock ticks, utime + stime from /proc/PID/stat)
# of PID and all its live descendants (nginx's workers, varnishd's cache
# child), so req/s can be put against the CPU each proxy spent: a figure
# that holds up better than req/s on a machine others are using too. Read
# before and after each wrk round.
cpu_ticks() {
  local total=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0) c
  for c in $(pgrep -P "$1" || true); do
    total=$((total + $(cpu_ticks "$c")))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)

echo "== warm up and check each cache answers hits"
for p in "${peers[@]}"; do
  for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:${PORT[$p]}/obj"; done
  hdrs=$(curl -s -D - -o /dev/null "http://127.0.0.1:${PORT[$p]}/obj" | tr -d '\r' | grep -iE '^(x-cache|cache-status|age|x-varnish):' | tr '\n' ' ')
  printf '  %-8s %s\n' "$p" "$hdrs"
done

echo "== cache hits: wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS interleaved rounds"
declare -A SUM REQS TICKS
for p in "${peers[@]}"; do SUM[$p]=0; REQS[$p]=0; TICKS[$p]=0; done
for round in $(seq 1 "$ROUNDS"); do
  line="  round $round:"
  for p in "${peers[@]}"; do
    t0=$(cpu_ticks "${MAINPID[$p]}")
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "http://127.0.0.1:${PORT[$p]}/obj")
    t1=$(cpu_ticks "${MAINPID[$p]}")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    SUM[$p]=$(awk -v a="${SUM[$p]}" -v b="$rps" 'BEGIN {print a + b}')
    REQS[$p]=$((REQS[$p] + n))
    TICKS[$p]=$((TICKS[$p] + t1 - t0))
    line+=$(printf ' %s=%.0f' "$p" "$rps")
  done
  echo "$line"
done
echo
printf '  %-8s %12s %14s %14s %14s\n' proxy 'req/s (mean)' 'socklab/peer' 'CPU us/hit' 'peer/socklab'
base=$(awk -v s="${SUM[socklab]}" -v n="$ROUNDS" 'BEGIN {print s / n}')
cpu_us() { awk -v t="${TICKS[$1]}" -v n="${REQS[$1]}" -v hz="$HZ" 'BEGIN {print (n > 0) ? t / hz * 1e6 / n : 0}'; }
base_cpu=$(cpu_us socklab)
for p in "${peers[@]}"; do
  mean=$(awk -v s="${SUM[$p]}" -v n="$ROUNDS" 'BEGIN {print s / n}')
  c=$(cpu_us "$p")
  printf '  %-8s %12.0f %13.2fx %14.1f %13.2fx\n' "$p" "$mean" "$(awk -v a="$base" -v b="$mean" 'BEGIN {print a / b}')" \
    "$c" "$(awk -v a="$c" -v b="$base_cpu" 'BEGIN {print (b > 0) ? a / b : 0}')"
done
echo "  (CPU us/hit: the proxy's own user+system CPU per request served; peer/socklab > 1 means socklab spends less)"
for p in varnish nginx; do
  [ -n "${SUM[$p]:-}" ] || continue
  r=$(awk -v a="$base" -v b="${SUM[$p]}" -v n="$ROUNDS" 'BEGIN {print a / (b / n)}')
  printf '  target hits >= 1.00x %-8s %5.2fx %s\n' "$p:" "$r" "$(awk -v r="$r" 'BEGIN {print (r >= 1.0) ? "ok" : "MISSED"}')"
done

echo
echo "== cold miss: p50 of 200 first requests (distinct URLs), minus direct to the origin"
p50() { # p50 PORT TAG: median time_total in ms of 200 distinct URLs over one keep-alive connection
  local cfg="$WORK/curl-$2.cfg"
  : >"$cfg"
  for i in $(seq 1 200); do printf 'url = "http://127.0.0.1:%s/obj?cold=%s-%s"\noutput = "/dev/null"\n' "$1" "$2" "$i" >>"$cfg"; done
  curl -s -K "$cfg" -w '%{time_total}\n' | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)] * 1000}'
}
declare -A ADDED
direct=$(p50 "$ORIGIN" direct)
printf '  %-8s p50 %7.3f ms\n' direct "$direct"
for p in "${peers[@]}"; do
  v=$(p50 "${PORT[$p]}" "$p")
  added=$(awk -v a="$v" -v b="$direct" 'BEGIN {print a - b}')
  printf '  %-8s p50 %7.3f ms   added %+7.3f ms\n' "$p" "$v" "$added"
  ADDED[$p]=$added
done
socklab_added=${ADDED[socklab]}
# The absolute figure moves with the machine's load; its ratio to the
# peers' added latency, measured in the same minute, moves less.
for p in varnish nginx; do
  [ -n "${ADDED[$p]:-}" ] || continue
  printf '  socklab added / %-8s added: %.2fx\n' "$p" "$(awk -v a="$socklab_added" -v b="${ADDED[$p]}" 'BEGIN {print (b > 0) ? a / b : 0}')"
done
printf '  target socklab cold miss adds <= +0.280 ms p50: %+.3f ms %s\n' "$socklab_added" \
  "$(awk -v a="$socklab_added" 'BEGIN {print (a <= 0.28) ? "ok" : "MISSED"}')"

echo
echo "== RSS: socklab proxy --cache-size ${CACHE_SIZE_MIB}MiB filled with 128 KiB objects for ${FILL_SECONDS}s"
"$WORK/socklab" proxy --http "127.0.0.1:$FILL" --upstream "http://127.0.0.1:$ORIGIN" --udp "" \
  --access-log off --cache-size "${CACHE_SIZE_MIB}MiB" --admin "127.0.0.1:$ADMIN" --log-level warn &
FILLPID=$!
PIDS+=($FILLPID)
wait_port "$FILL" socklab-fill
cat >"$WORK/fill.lua" <<'EOF'
local n = 0
local tid = 0
setup = function(thread) tid = tid + 1; thread:set("tid", tid) end
request = function()
  n = n + 1
  return wrk.format("GET", "/fill/" .. tid .. "-" .. n)
end
EOF
wrk -t"$THREADS" -c8 -d"${FILL_SECONDS}s" -s "$WORK/fill.lua" "http://127.0.0.1:$FILL/" | awk '/Requests\/sec|Transfer\/sec/ {print "  fill " $0}'
stats=$(curl -s "http://127.0.0.1:$ADMIN/_socklab/stats")
stored=$(echo "$stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["stored_objects"], s["stored_bytes"], s["evictions"], s["stores"])')
read -r objs bytes evictions stores <<<"$stored"
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$FILLPID/status")
hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$FILLPID/status")
limit_mib=$((CACHE_SIZE_MIB + 40))
printf '  stored %s objects (%.1f MiB) of %s written; %s evictions\n' "$objs" "$(awk -v b="$bytes" 'BEGIN {print b / 1048576}')" "$stores" "$evictions"
printf '  RSS %.1f MiB (peak %.1f MiB); bound cache-size + 40 MiB = %d MiB: %s\n' \
  "$(awk -v k="$rss_kib" 'BEGIN {print k / 1024}')" "$(awk -v k="$hwm_kib" 'BEGIN {print k / 1024}')" "$limit_mib" \
  "$(awk -v k="$rss_kib" -v l="$limit_mib" 'BEGIN {print (k / 1024 <= l) ? "ok" : "OVER"}')"
