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
#      bisecting, TRIAL seconds per try, at most ~10 tries each): socklab
#      qos --one-way against iperf3 -u -l 1400 (both one way), socklab qos
#      against irtt (both round trip). 3b: the same in packets/s at 64-byte
#      payloads. A socklab try counts only when no self-limit touched it
#      (its JSON "warnings" is empty): a sender that fell behind its schedule
#      sent less than the rate asked, and 0% loss at a rate not achieved
#      proves nothing. Goal: ≥ 1.0× the peer's. 3c: CPU per packet of the
#      sender and of the reflector (socklab serve), round trip and one way.
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
"$tmp/socklab" serve --http "$SERVE_HTTP" --udp "$SERVE_UDP" --udp-max-pps -1 --udp-max-source-pps -1 --access-log off --log-level warn & pids+=($!)
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

# try TOOL SIZE UNITS: one TRIAL-second run at UNITS (Mbit/s for 1400-byte
# payloads, thousands of packets/s for 64-byte ones); prints the loss in %,
# or a reason the try is not clean.
try() {
  local tool=$1 size=$2 u=$3 mbps
  if [ "$size" = 64 ]; then mbps=$(awk -v k="$u" 'BEGIN { printf "%.3f", k * 1000 * 64 * 8 / 1e6 }'); else mbps=$u; fi
  case $tool in
  socklab | socklab-1way)
    local ow=""; [ "$tool" = socklab-1way ] && ow=--one-way
    # A run with warnings (sender behind, reflector cap or drops) is not clean.
    sq $ow --rate "${mbps}M" --size "$size" --duration "${TRIAL}s" |
      jq -r 'if (.warnings | length) > 0 then "\(.loss_pct) with warnings: \([.warnings[].kind] | join(","))" else .loss_pct end' ;;
  iperf3)
    iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -u -b "${mbps}M" -l "$size" -t "$TRIAL" -J | jq .end.sum.lost_percent ;;
  irtt)
    local ns; ns=$(awk -v m="$mbps" -v s="$size" 'BEGIN { printf "%d", s * 8 / (m * 1e6) * 1e9 }')
    irtt client -Q -i "${ns}ns" -d "${TRIAL}s" -l "$size" -o "$tmp/irtt-max.json" "$IRTT" >/dev/null 2>&1 || true
    # irtt sends late rather than fail: a try that sent under 99% of the
    # packets the interval asks for did not run at that rate.
    jq -r --argjson want "$(awk -v t="$TRIAL" -v n="$ns" 'BEGIN { printf "%d", t * 1e9 / n }')" \
      'if .stats.packets_sent < 0.99 * $want then "\(.stats.packet_loss_percent) but sent \(.stats.packets_sent) of \($want)" else .stats.packet_loss_percent end' \
      "$tmp/irtt-max.json" ;;
  esac
}
# clean TOOL SIZE UNITS: succeeds when the try lost nothing and no self-limit touched it.
clean() {
  local loss; loss=$(try "$@")
  echo "  $1 $2 B at $3: loss ${loss}%" >&2
  awk -v l="$loss" 'BEGIN { exit !(l == 0) }'
}
# highest TOOL SIZE: doubles from 50 units until a loss, then bisects 4 times.
highest() {
  local lo=0 hi=50
  while [ "$hi" -le 12800 ] && clean "$1" "$2" "$hi"; do lo=$hi; hi=$((hi * 2)); done
  for _ in 1 2 3 4; do
    local mid=$(((lo + hi) / 2))
    if clean "$1" "$2" "$mid"; then lo=$mid; else hi=$mid; fi
  done
  echo "$lo"
}

echo "== 3. highest rate with 0% loss, 1400-byte payloads (Mbit/s), ${TRIAL}s per try"
s_rt=$(highest socklab 1400)
s_ow=$(highest socklab-1way 1400)
i_max=$(highest iperf3 1400)
r_max=$(highest irtt 1400)
echo "socklab qos           ${s_rt} Mbit/s (round trip)"
echo "socklab qos --one-way ${s_ow} Mbit/s (one way)"
echo "iperf3 -u -l 1400     ${i_max} Mbit/s (one way)"
echo "irtt -l 1400          ${r_max} Mbit/s (round trip)"
echo "ratio one way socklab/iperf3 $(ratio "$s_ow" "$i_max"), round trip socklab/irtt $(ratio "$s_rt" "$r_max")  (goal ≥ 1.00)"

echo "== 3b. highest packet rate with 0% loss, 64-byte payloads (kpkt/s), ${TRIAL}s per try"
s_rt64=$(highest socklab 64)
s_ow64=$(highest socklab-1way 64)
i_max64=$(highest iperf3 64)
r_max64=$(highest irtt 64)
echo "socklab qos           ${s_rt64} kpkt/s (round trip)"
echo "socklab qos --one-way ${s_ow64} kpkt/s (one way)"
echo "iperf3 -u -l 64       ${i_max64} kpkt/s (one way)"
echo "irtt -l 64            ${r_max64} kpkt/s (round trip)"
echo "ratio one way socklab/iperf3 $(ratio "$s_ow64" "$i_max64"), round trip socklab/irtt $(ratio "$s_rt64" "$r_max64")  (goal ≥ 1.00)"

echo "== 3c. CPU per packet at 100 Mbit/s of 1400-byte probes for 3s (user+system)"
ticks=$(getconf CLK_TCK)
serve_pid=${pids[0]}
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
for mode in "" --one-way; do
  before=$(cpu_of "$serve_pid")
  /usr/bin/time -f "%U %S" -o "$tmp/time" "$tmp/socklab" qos "$SERVE_UDP" --csv "" --json --report-interval 0 $mode \
    --rate 100M --size 1400 --duration 3s > "$tmp/cpu.json"
  after=$(cpu_of "$serve_pid")
  sent=$(jq .sent "$tmp/cpu.json")
  awk -v b="$before" -v a="$after" -v t="$ticks" -v n="$sent" -v m="${mode:-round trip}" -v s="$(cat "$tmp/time")" 'BEGIN {
    split(s, x, " "); printf "%-10s sender %.2f µs/pkt, reflector %.2f µs/pkt (%d probes)\n", m, (x[1] + x[2]) * 1e6 / n, (a - b) / t * 1e6 / n, n }'
done

if [ "$ACCURACY" = 1 ]; then
  echo "== 4. through socklab proxy --delay 20ms --loss 5%: 10000 probes every 1ms"
  "$tmp/socklab" proxy --http "$PROXY_HTTP" --udp "$PROXY_UDP" --udp-upstream "$SERVE_UDP" \
    --upstream "http://$SERVE_HTTP" --delay 20ms --loss 5% --seed 1 --access-log off --log-level warn & pids+=($!)
  sleep 0.5
  "$tmp/socklab" qos "$PROXY_UDP" --csv "" --json --report-interval 0 --count 10000 --interval 1ms > "$tmp/acc.json"
  jq -r '"RTT p50 \(.rtt_p50_ms) ms (goal 40 ± 0.5), loss \(.loss_pct)% (goal 9.75 ± 1): up \(.total.loss_up_pct)% (goal ~5), down \(.total.loss_down_pct)% (goal ~4.75); timer misses \(.total.diagnostics.timer_misses)"' "$tmp/acc.json"
fi
