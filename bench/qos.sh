#!/usr/bin/env bash
# bench/qos.sh: socklab qos against irtt and iperf3 (Debian packages), on
# loopback with no impairment. Three figures:
#
#   1. RTT p50 at 500 probes/s: socklab qos → socklab serve vs irtt client →
#      irtt server (both remove the reflector's processing time). Goal: no
#      higher than irtt's.
#   2. Jitter at the same rate (RATE, 1400-byte payloads): socklab's RFC 3550
#      upstream jitter vs iperf3's (-u -b RATE -l 1400). Goal: consistent.
#   3. The highest rate with 0% loss at 1400-byte payloads (doubling, then
#      bisecting, TRIAL seconds per try, at most ~10 tries each). socklab's
#      loss is a round trip through the reflector; iperf3's is one way.
#      Goal: ≥ 1.0× iperf3's.
#   4. Accuracy through socklab proxy --delay 20ms --loss 5% (ACCURACY=0
#      skips it): 10k probes every 1ms. Goal: RTT p50 within 0.5ms of 40ms,
#      loss within ±1 point of 1−0.95² = 9.75%, split ~5% up / ~4.75% down.
#
# Loopback only; everything it starts is stopped on exit. On a shared machine
# the figures are noisy: run it twice before trusting a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-100M}
TRIAL=${TRIAL:-1}
ACCURACY=${ACCURACY:-1}
SERVE_HTTP=127.0.0.1:19480
PROXY_HTTP=127.0.0.1:19481
PROXY_UDP=127.0.0.1:19490
SERVE_UDP=127.0.0.1:19400
IRTT=127.0.0.1:19401
IPERF_PORT=19402

need=()
command -v irtt >/dev/null || need+=(irtt)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v jq >/dev/null || need+=(jq)
if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/socklab" ./cmd/socklab
"$tmp/socklab" serve --http "$SERVE_HTTP" --udp "$SERVE_UDP" --udp-max-pps -1 --access-log off --log-level warn & pids+=($!)
irtt server -b "$IRTT" -i 0 -d 0 -l 0 >/dev/null 2>&1 & pids+=($!)
iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >/dev/null 2>&1 & pids+=($!)
sleep 0.5

sq() { "$tmp/socklab" qos "$SERVE_UDP" --csv "" --json --report-interval 0 "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

echo "== 1. RTT p50, 64-byte probes every 2ms for 3s"
s_p50=$(sq --interval 2ms --duration 3s | jq .rtt_p50_ms)
irtt client -Q -i 2ms -d 3s -l 64 -o "$tmp/irtt.json" "$IRTT" >/dev/null 2>&1 || true
i_p50=$(jq '.stats.rtt.median / 1e6' "$tmp/irtt.json")
echo "socklab qos  p50 ${s_p50} ms"
echo "irtt         p50 ${i_p50} ms"
echo "ratio socklab/irtt $(ratio "$s_p50" "$i_p50")  (goal ≤ 1.00)"

echo "== 2. jitter at $RATE, 1400-byte payloads, 3s"
sq --rate "$RATE" --size 1400 --duration 3s > "$tmp/jit.json"
s_jit=$(jq .jitter_ms "$tmp/jit.json")
s_jit_down=$(jq .total.jitter_down_ms "$tmp/jit.json")
i_jit=$(iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -u -b "$RATE" -l 1400 -t 3 -J | jq .end.sum.jitter_ms)
echo "socklab qos  jitter up ${s_jit} ms, down ${s_jit_down} ms (RFC 3550)"
echo "iperf3       jitter ${i_jit} ms (one way, client → server)"
echo "ratio socklab/iperf3 up $(ratio "$s_jit" "$i_jit"), down $(ratio "$s_jit_down" "$i_jit")  (goal: same order of magnitude)"

echo "== 3. highest rate with 0% loss, 1400-byte payloads, ${TRIAL}s per try"
# clean TOOL MBPS: succeeds when a run at MBPS Mbit/s lost nothing.
clean() {
  local loss
  if [ "$1" = socklab ]; then
    loss=$(sq --rate "${2}M" --size 1400 --duration "${TRIAL}s" | jq .loss_pct)
  else
    loss=$(iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -u -b "${2}M" -l 1400 -t "$TRIAL" -J | jq .end.sum.lost_percent)
  fi
  echo "  $1 ${2} Mbit/s: loss ${loss}%" >&2
  awk -v l="$loss" 'BEGIN { exit !(l == 0) }'
}
# highest TOOL: doubles from 50 Mbit/s until a loss, then bisects 4 times.
highest() {
  local lo=0 hi=50
  while [ "$hi" -le 12800 ] && clean "$1" "$hi"; do lo=$hi; hi=$((hi * 2)); done
  for _ in 1 2 3 4; do
    local mid=$(((lo + hi) / 2))
    if clean "$1" "$mid"; then lo=$mid; else hi=$mid; fi
  done
  echo "$lo"
}
s_max=$(highest socklab)
i_max=$(highest iperf3)
echo "socklab qos  ${s_max} Mbit/s (round trip)"
echo "iperf3       ${i_max} Mbit/s (one way)"
echo "ratio socklab/iperf3 $(ratio "$s_max" "$i_max")  (goal ≥ 1.00)"

if [ "$ACCURACY" = 1 ]; then
  echo "== 4. through socklab proxy --delay 20ms --loss 5%: 10000 probes every 1ms"
  "$tmp/socklab" proxy --http "$PROXY_HTTP" --udp "$PROXY_UDP" --udp-upstream "$SERVE_UDP" \
    --upstream "http://$SERVE_HTTP" --delay 20ms --loss 5% --seed 1 --access-log off --log-level warn & pids+=($!)
  sleep 0.5
  "$tmp/socklab" qos "$PROXY_UDP" --csv "" --json --report-interval 0 --count 10000 --interval 1ms > "$tmp/acc.json"
  jq -r '"RTT p50 \(.rtt_p50_ms) ms (goal 40 ± 0.5), loss \(.loss_pct)% (goal 9.75 ± 1): up \(.total.loss_up_pct)% (goal ~5), down \(.total.loss_down_pct)% (goal ~4.75); timer misses \(.total.diagnostics.timer_misses)"' "$tmp/acc.json"
fi
