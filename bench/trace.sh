#!/usr/bin/env bash
# bench/trace.sh: socklab traceroute and ping against traceroute 2.1 and
# iputils ping on a real routed path: network namespaces
# source → r1 → r2 → r3 → destination (the same chain the tests build with
# internal/netnstest). Prints the hops each tool found, the traceroute wall-time
# ratio (issue 15's goal: socklab within 1.5× of traceroute 2.1) with the CPU
# time per trace of each side, the process start alone (socklab version vs
# traceroute --version), and the ping RTT medians (goal: within 10 µs).
# Times are medians of runs that take turns (bench/cmdtime), so a busy
# machine's drift hits both sides alike; they are still noisy there.
# socklab is built as a release is (Makefile, Dockerfile): CGO_ENABLED=0, a
# static binary, which skips the dynamic loader and libc at every start.
# Needs root. Traffic stays inside the namespaces it creates and removes.
#
#   bash bench/trace.sh            # 20 traceroutes and 500 pings per tool
#   RUNS=5 PINGS=100 bash bench/trace.sh
#   SOCKLAB=/path/to/socklab bash bench/trace.sh   # time a binary built elsewhere
#   BEFORE=/path/to/old/socklab bash bench/trace.sh # and an older build, in the same turns
#   FLOOR=1 bash bench/trace.sh    # and bench/floor in the same turns: cobra, net/http,
#                                  # x/net and socklab's trace engine alone, the least a
#                                  # Go traceroute of socklab's kind starts with (issue 15)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-20}
PINGS=${PINGS:-500}

if [ "$(id -u)" != 0 ]; then
  echo "bench/trace.sh needs root (network namespaces, raw sockets)" >&2
  exit 1
fi

need=()
command -v traceroute >/dev/null 2>&1 || need+=(traceroute)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
command -v tc >/dev/null 2>&1 || need+=(iproute2)
if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

bin=$(mktemp -d)/socklab
if [ -n "${SOCKLAB:-}" ]; then
  cp "$SOCKLAB" "$bin"
else
  CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/socklab
fi
cmdtime=$(dirname "$bin")/cmdtime
go build -o "$cmdtime" ./bench/cmdtime
floor=$(dirname "$bin")/floor
[ -n "${FLOOR:-}" ] && CGO_ENABLED=0 go build -trimpath -o "$floor" ./bench/floor

# --- topology -------------------------------------------------------------
prefix="slb$$"
nodes=("$prefix-0" "$prefix-1" "$prefix-2" "$prefix-3" "$prefix-4")
cleanup() {
  for n in "${nodes[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$(dirname "$bin")"
}
trap cleanup EXIT

last=$((${#nodes[@]} - 1))
for i in "${!nodes[@]}"; do
  n=${nodes[$i]}
  ip netns add "$n"
  ip netns exec "$n" sysctl -q -w net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
    net.ipv4.icmp_msgs_per_sec=1000000 net.ipv4.icmp_msgs_burst=100000 \
    net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  if [ "$i" -gt 0 ] && [ "$i" -lt "$last" ]; then
    ip netns exec "$n" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  fi
  ip -n "$n" link set lo up
done
for link in $(seq 1 "$last"); do
  w=${nodes[$((link - 1))]} e=${nodes[$link]}
  ip -n "$w" link add east type veth peer name west netns "$e"
  ip -n "$w" addr add "10.201.$link.1/24" dev east
  ip -n "$e" addr add "10.201.$link.2/24" dev west
  ip -n "$w" link set east up
  ip -n "$e" link set west up
  wm=$(ip -n "$w" -br link show dev east | awk '{print $3}')
  em=$(ip -n "$e" -br link show dev west | awk '{print $3}')
  ip -n "$w" neigh replace "10.201.$link.2" lladdr "$em" dev east nud permanent
  ip -n "$e" neigh replace "10.201.$link.1" lladdr "$wm" dev west nud permanent
done
ip -n "${nodes[0]}" route add default via 10.201.1.2
ip -n "${nodes[$last]}" route add default via "10.201.$last.1"
for r in $(seq 1 $((last - 1))); do
  for link in $(seq 1 "$last"); do
    if [ "$link" -lt "$r" ]; then
      ip -n "${nodes[$r]}" route add "10.201.$link.0/24" via "10.201.$r.1"
    elif [ "$link" -gt $((r + 1)) ]; then
      ip -n "${nodes[$r]}" route add "10.201.$link.0/24" via "10.201.$((r + 1)).2"
    fi
  done
done
dst="10.201.$last.2"
src=${nodes[0]}
inns() { ip netns exec "$src" "$@"; }

hops() { awk 'NR > 1 {print $2}' | paste -sd' '; }

echo "== topology: source → r1 → r2 → r3 → $dst (machine: $(nproc) cores, shared; figures are noisy)"
echo "== peers: $(traceroute --version 2>&1 | head -1); $(ping -V 2>&1 | head -1)"

# --- traceroute -------------------------------------------------------------
echo
echo "== traceroute -n $dst (UDP, 3 probes/hop, 16 in flight), $RUNS runs each"
inns traceroute -n "$dst" >/dev/null   # warm up caches
inns "$bin" traceroute -n "$dst" >/dev/null
peer_hops=$(inns traceroute -n "$dst" | hops)
ours_hops=$(inns "$bin" traceroute -n "$dst" | hops)
echo "traceroute 2.1 hops: $peer_hops"
echo "socklab       hops: $ours_hops"
if [ "$peer_hops" = "$ours_hops" ]; then echo "hops: same"; else echo "hops: DIFFERENT"; fi

# Each side's median wall and CPU time (user + system, ip netns exec included
# on both sides) over RUNS runs that take turns.
# The extra commands (BEFORE, FLOOR) take the same turns, in this order.
before=()
if [ -n "${BEFORE:-}" ]; then
  cp "$BEFORE" "$(dirname "$bin")/socklab-before"
  before=("ip netns exec $src $(dirname "$bin")/socklab-before traceroute -n $dst")
fi
[ -n "${FLOOR:-}" ] && before+=("ip netns exec $src $floor traceroute -n $dst")
timing=$("$cmdtime" -n "$RUNS" "ip netns exec $src traceroute -n $dst" "ip netns exec $src $bin traceroute -n $dst" "${before[@]}")
field() { echo "$timing" | sed -n "$1p" | sed -E "s/.*$2=([0-9.]+).*/\1/"; }
peer_ms=$(field 1 wall_ms); ours_ms=$(field 2 wall_ms)
peer_cpu=$(field 1 cpu_ms); ours_cpu=$(field 2 cpu_ms)
engine_ms=$(for _ in $(seq "$RUNS"); do inns "$bin" traceroute -n --json "$dst" | awk -F': ' '/"duration_ms"/ {sub(",", "", $2); print $2}'; done |
  sort -n | awk '{v[NR]=$1} END {printf "%.3f", v[int((NR+1)/2)]}')
awk -v p="$peer_ms" -v o="$ours_ms" -v pc="$peer_cpu" -v oc="$ours_cpu" -v e="$engine_ms" 'BEGIN {
  printf "wall time per trace (median): traceroute 2.1 %.2f ms, socklab %.2f ms, ratio %.2fx (goal <= 1.5x)\n", p, o, o/p
  printf "CPU time per trace (median, user+sys): traceroute 2.1 %.2f ms, socklab %.2f ms, ratio %.2fx\n", pc, oc, oc/pc
  printf "  the trace itself (socklab --json duration_ms, median): %.3f ms\n", e }'
line=3
if [ -n "${BEFORE:-}" ]; then
  awk -v p="$peer_ms" -v pc="$peer_cpu" -v o="$(field $line wall_ms)" -v oc="$(field $line cpu_ms)" 'BEGIN {
    printf "  BEFORE (%s), same turns: %.2f ms wall (ratio %.2fx), %.2f ms CPU (ratio %.2fx)\n", ENVIRON["BEFORE"], o, o/p, oc, oc/pc }'
  line=4
fi
if [ -n "${FLOOR:-}" ]; then
  awk -v p="$peer_ms" -v pc="$peer_cpu" -v o="$(field $line wall_ms)" -v oc="$(field $line cpu_ms)" 'BEGIN {
    printf "  FLOOR (bench/floor: cobra + net/http + x/net + the trace engine), same turns: %.2f ms wall (ratio %.2fx), %.2f ms CPU (ratio %.2fx)\n", o, o/p, oc, oc/pc }'
fi

# The process start alone, outside the namespace: what a trace this short is
# mostly made of.
before=()
names="socklab version"
[ -n "${BEFORE:-}" ] && before=("$(dirname "$bin")/socklab-before version") && names="$names,BEFORE version"
[ -n "${FLOOR:-}" ] && before+=("$floor version") && names="$names,FLOOR version"
start=$("$cmdtime" -n $((RUNS * 2)) "traceroute --version" "$bin version" "${before[@]}")
awk -v names="$names" 'BEGIN {split(names, name, ",")}
     NR == 1 {split($1, a, "="); split($2, b, "="); pw = a[2]; pc = b[2]
       printf "process start (median): traceroute --version %.2f ms wall, %.2f ms CPU\n", pw, pc}
     NR > 1 {split($1, a, "="); split($2, b, "=")
       printf "  %s %.2f ms wall (%.2fx), %.2f ms CPU (%.2fx)\n", name[NR - 1], a[2], a[2]/pw, b[2], b[2]/pc}' <<<"$start"

# --- ping -----------------------------------------------------------------
echo
echo "== ping -c $PINGS -i 0.002 $dst: RTT percentiles from the per-reply lines"
rtts() { grep -o 'time=[0-9.]*' | cut -d= -f2 | sort -n; }
pct() { awk -v q="$1" '{v[NR]=$1} END {i=int(q*NR+0.5); if (i<1) i=1; if (i>NR) i=NR; print v[i]}'; }
peer=$(inns ping -c "$PINGS" -i 0.002 "$dst" | rtts)
ours=$(inns "$bin" ping -c "$PINGS" -i 0.002 "$dst" | rtts)
pp50=$(echo "$peer" | pct 0.5); op50=$(echo "$ours" | pct 0.5)
pp90=$(echo "$peer" | pct 0.9); op90=$(echo "$ours" | pct 0.9)
echo "iputils ping: n=$(echo "$peer" | wc -l) p50=${pp50} ms p90=${pp90} ms"
echo "socklab ping: n=$(echo "$ours" | wc -l) p50=${op50} ms p90=${op90} ms"
awk -v p="$pp50" -v o="$op50" 'BEGIN { d=(o-p)*1000; printf "p50 difference: %+.0f us (goal: within 10 us)\n", d }'
