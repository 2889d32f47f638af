#!/usr/bin/env bash
# bench/trace.sh: socklab traceroute and ping against traceroute 2.1 and
# iputils ping on a real routed path: network namespaces
# source → r1 → r2 → r3 → destination (the same chain the tests build with
# internal/netnstest). Prints the hops each tool found, the traceroute wall-time
# ratio (goal ≤ 1.0×) and the ping RTT medians (goal: within 10 µs).
# Needs root. Traffic stays inside the namespaces it creates and removes.
#
#   bash bench/trace.sh            # 20 traceroutes and 500 pings per tool
#   RUNS=5 PINGS=100 bash bench/trace.sh
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
go build -o "$bin" ./cmd/socklab

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

now() { date +%s%N; }
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

t0=$(now); for _ in $(seq "$RUNS"); do inns traceroute -n "$dst" >/dev/null; done; t1=$(now)
for _ in $(seq "$RUNS"); do inns "$bin" traceroute -n "$dst" >/dev/null; done; t2=$(now)
peer_ms=$(( (t1 - t0) / RUNS / 1000 ))
ours_ms=$(( (t2 - t1) / RUNS / 1000 ))
t3=$(now); for _ in $(seq "$RUNS"); do inns "$bin" --help >/dev/null; done; t4=$(now)
start_ms=$(( (t4 - t3) / RUNS / 1000 ))
engine_ms=$(for _ in $(seq "$RUNS"); do inns "$bin" traceroute -n --json "$dst" | awk -F': ' '/"duration_ms"/ {sub(",", "", $2); print $2}'; done |
  awk '{s += $1} END {printf "%.3f", s/NR}')
awk -v p="$peer_ms" -v o="$ours_ms" -v s="$start_ms" -v e="$engine_ms" 'BEGIN {
  printf "wall time per trace: traceroute 2.1 %.2f ms, socklab %.2f ms, ratio %.2fx (goal <= 1.0x)\n", p/1000, o/1000, o/p
  printf "  of which socklab process start (socklab --help, same netns exec): %.2f ms; the trace itself (--json duration_ms): %.3f ms\n", s/1000, e }'

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
