#!/usr/bin/env bash
# bench/web.sh: socklab serve against nginx, on loopback, same folder.
#
# Serves a 1 KiB and an 8 MiB file with both servers and runs wrk rounds
# alternately (keep-alive, 64 connections), then prints req/s for each and
# the socklab/nginx ratio. Targets: >= 1.0x on 1 KiB, >= 0.9x on 8 MiB.
# Beside req/s it prints each server's CPU time per request (utime+stime
# from /proc before and after each round, nginx's workers included): it
# depends much less than req/s on how wrk and the servers shared the cores,
# so its ratio (nginx's CPU/request over socklab's; above 1.0 socklab spends
# less) is the figure to trust on a busy machine.
#
# Both servers run with their access log off, sendfile on, and as many
# workers as cores (Go uses every core by itself). wrk shares the same
# cores, so on a small machine the figures are noisy: compare ratios, and
# run more rounds (ROUNDS=5) when it matters.
#
#   bash bench/web.sh                 # 3 rounds of 5 s per file and server
#   ROUNDS=2 DURATION=3s bash bench/web.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
SOCK_PORT=${SOCK_PORT:-18480}
NGINX_PORT=${NGINX_PORT:-18481}

need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bench/web.sh: needs ${need[*]} (run as root to apt-get install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d /tmp/socklab-bench-web.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www" "$work/logs"
head -c 1024 /dev/urandom >"$work/www/1k.bin"
head -c $((8 << 20)) /dev/urandom >"$work/www/8m.bin"
chmod -R a+rX "$work" # nginx workers run as nobody

echo "== build"
go build -o "$work/socklab" ./cmd/socklab

cat >"$work/nginx.conf" <<NGINX
daemon off;
master_process on;
worker_processes auto;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  client_body_temp_path $work/tmp_body;
  proxy_temp_path $work/tmp_proxy;
  fastcgi_temp_path $work/tmp_fastcgi;
  uwsgi_temp_path $work/tmp_uwsgi;
  scgi_temp_path $work/tmp_scgi;
  types { application/octet-stream bin; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $work/www;
  }
}
NGINX

"$work/socklab" serve --http "127.0.0.1:$SOCK_PORT" --udp off --root "$work/www" \
  --access-log off --log-level warn &
pids+=($!)
"$NGINX" -p "$work" -c "$work/nginx.conf" &
pids+=($!)

for port in "$SOCK_PORT" "$NGINX_PORT"; do
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/1k.bin" 2>/dev/null && break
    sleep 0.1
  done
  for f in 1k.bin 8m.bin; do
    size=$(curl -fsS -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port/$f")
    want=$(stat -c %s "$work/www/$f")
    [ "$size" = "$want" ] || { echo "port $port /$f: got $size bytes, want $want" >&2; exit 1; }
  done
done

TICK=$(getconf CLK_TCK)
sock_pid=${pids[0]}
nginx_pid=${pids[1]}

# cpu_ticks PID: utime+stime of PID and its live children (nginx's
# workers), in clock ticks. The comm field may hold spaces: cut after ")".
cpu_ticks() {
  local p total=0
  for p in "$1" $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}

# round URL PID: one wrk round; prints req/s, requests and the server's
# CPU ticks over the round.
round() {
  local before after out
  before=$(cpu_ticks "$2")
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "$1")
  after=$(cpu_ticks "$2")
  echo "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") $(awk '/requests in/ {print $1}' <<<"$out") $((after - before))"
}

declare -A sum reqs ticks
echo "== wrk: $ROUNDS rounds x $DURATION, $CONNS connections, $THREADS threads, keep-alive"
for f in 1k.bin 8m.bin; do
  for who in socklab nginx; do
    sum[$who:$f]=0 reqs[$who:$f]=0 ticks[$who:$f]=0
  done
  for r in $(seq "$ROUNDS"); do
    # Alternate who goes first, so neither always gets the warmer machine.
    order="socklab nginx"
    [ $((r % 2)) = 0 ] && order="nginx socklab"
    for who in $order; do
      port=$SOCK_PORT pid=$sock_pid
      [ "$who" = nginx ] && port=$NGINX_PORT pid=$nginx_pid
      read -r v n t < <(round "http://127.0.0.1:$port/$f" "$pid")
      printf '  round %d %-8s %-7s %12.1f req/s %10.1f us CPU/req\n' "$r" "$f" "$who" "$v" \
        "$(awk -v t="$t" -v n="$n" -v k="$TICK" 'BEGIN {print (n > 0 ? t / k * 1e6 / n : 0)}')"
      sum[$who:$f]=$(awk -v a="${sum[$who:$f]}" -v b="$v" 'BEGIN {print a + b}')
      reqs[$who:$f]=$((${reqs[$who:$f]} + n))
      ticks[$who:$f]=$((${ticks[$who:$f]} + t))
    done
  done
done

echo "== result (mean req/s over $ROUNDS rounds; CPU time per request over all of them)"
printf '%-8s %12s %12s %7s %7s %12s %12s %9s\n' file socklab nginx ratio target 'sock us/req' 'nginx us/req' 'cpu ratio'
for f in 1k.bin 8m.bin; do
  target=1.0
  [ "$f" = 8m.bin ] && target=0.9
  awk -v f="$f" -v s="${sum[socklab:$f]}" -v n="${sum[nginx:$f]}" -v r="$ROUNDS" -v t="$target" -v k="$TICK" \
    -v sr="${reqs[socklab:$f]}" -v st="${ticks[socklab:$f]}" -v nr="${reqs[nginx:$f]}" -v nt="${ticks[nginx:$f]}" \
    'BEGIN {
      sc = (sr > 0 ? st / k * 1e6 / sr : 0); nc = (nr > 0 ? nt / k * 1e6 / nr : 0)
      printf "%-8s %12.1f %12.1f %6.2fx %6.1fx %12.2f %12.2f %8.2fx\n", f, s/r, n/r, (n > 0 ? s/n : 0), t, sc, nc, (sc > 0 ? nc/sc : 0)
    }'
done
echo "(cpu ratio: nginx's CPU per request over socklab's; above 1.0 socklab spends less per request)"
