#!/usr/bin/env bash
# bench/analyze.sh: how fast socklab analyze reads a capture, against
# tcpdump reading the same file.
#
# bench/gencap writes a synthetic Ethernet pcap of SIZE (default 1GiB):
# socklab QoS probes and replies, bulk TCP with ACKs, ICMP echoes and a
# trickle of short UDP flows (~1.4 million packets per GiB). The file is read
# once to warm the page cache, then each reader runs RUNS times (best run
# kept):
#   socklab analyze FILE                 full analysis, table to /dev/null
#   tcpdump -r FILE -n 'udp port 1'      read + BPF only, matches nothing
#   tcpdump -r FILE -n -q                read + decode + print every packet
# and socklab analyze on the gzip-compressed file (gzip -1). Prints MB/s
# (10^6 bytes per second of capture file), socklab's peak RSS (bounded
# memory) and the ratios. The target is >= 200 MB/s uncompressed. The
# machine may be shared: figures are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${SIZE:-1GiB}
RUNS=${RUNS:-2}
GZIP=${GZIP:-1}

if ! command -v tcpdump >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends tcpdump >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/socklab" ./cmd/socklab
go build -o "$tmp/gencap" ./bench/gencap
"$tmp/gencap" -size "$SIZE" -o "$tmp/bench.pcap"
bytes=$(stat -c %s "$tmp/bench.pcap")
cat "$tmp/bench.pcap" >/dev/null

# best NAME CMD...: run CMD RUNS times, print and remember the best MB/s.
best() {
  local name=$1 best=0 t0 t1 rate
  shift
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "$name failed: $*" >&2; exit 1; }
    t1=$(date +%s.%N)
    rate=$(awk -v b="$bytes" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f", b / (z - a) / 1e6 }')
    best=$(awk -v x="$rate" -v y="$best" 'BEGIN { print (x > y) ? x : y }')
  done
  printf '%-40s %8s MB/s\n' "$name" "$best"
  last=$best
}

printf 'capture: %s bytes, %s packets\n' "$bytes" \
  "$("$tmp/socklab" analyze --json "$tmp/bench.pcap" | awk -F'[:,]' '/"packets":/ { print $2; exit }' | tr -d ' ')"
best "socklab analyze" "$tmp/socklab" analyze "$tmp/bench.pcap"; socklab=$last
best "tcpdump -r (BPF, no output)" tcpdump -r "$tmp/bench.pcap" -n 'udp port 1'; tdbpf=$last
best "tcpdump -r -n -q (print every packet)" tcpdump -r "$tmp/bench.pcap" -n -q; tdprint=$last

rss=$( { /usr/bin/time -f '%M' "$tmp/socklab" analyze "$tmp/bench.pcap" >/dev/null; } 2>&1 | tail -1)
printf 'socklab analyze peak RSS: %s KiB\n' "$rss"

if [ "$GZIP" = 1 ]; then
  gzip -1 -c "$tmp/bench.pcap" >"$tmp/bench.pcap.gz"
  rm "$tmp/bench.pcap"
  best "socklab analyze (gzip, per pcap byte)" "$tmp/socklab" analyze "$tmp/bench.pcap.gz"
fi

awk -v s="$socklab" -v b="$tdbpf" -v p="$tdprint" 'BEGIN {
  printf "ratio socklab / tcpdump (BPF only):  %.2f\n", s / b
  printf "ratio socklab / tcpdump (printing):  %.2f\n", s / p
  printf "target >= 200 MB/s: %s\n", (s >= 200) ? "met" : "NOT met"
}'
