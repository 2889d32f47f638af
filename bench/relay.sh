#!/usr/bin/env bash
# bench/relay.sh: the highest loss-free rate of socklab's UDP relay against
# socat doing the same relay (UDP4-LISTEN,fork → UDP4), on loopback.
#
# One client sends 64-byte datagrams (SIZE) at increasing rates (RATES,
# datagrams per second) for DURATION each, through the relay to an echo
# server and back; a rate is clean when every datagram came back (each rate
# gets three tries, the machine may be busy). The direct line (no relay) shows
# the sender's own ceiling (its echo server and receiver read in batches,
# recvmmsg/sendmmsg, so that they are not what drops first on a 2-core
# machine; the sender still sends one datagram per call, paced in bursts of
# 200 µs). Prints each relay's highest clean rate and the
# ratio socklab/socat, then what each delivers when offered SATURATE
# datagrams/s (a steadier figure than the clean rate on a busy machine).
# Loopback only, bounded: at most (len(RATES) × 3 tries + 1) × 3 targets ×
# DURATION, plus half a second per run.
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"5000 10000 20000 30000 40000 50000 60000 75000 100000 125000 150000 200000 250000 300000"}
SATURATE=${SATURATE:-100000}
DURATION=${DURATION:-1s}
SIZE=${SIZE:-64}
secs=$(awk -v d="$DURATION" 'BEGIN { if (d ~ /ms$/) { sub(/ms$/, "", d); print d / 1000 } else { sub(/s$/, "", d); print d } }')
ECHO=127.0.0.1:19300
SOCKLAB=127.0.0.1:19301
SOCAT=127.0.0.1:19302

if ! command -v socat >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends socat >/dev/null
fi

# Both relays and the echo server ask for 4 MiB socket buffers; Linux caps
# them at net.core.rmem_max/wmem_max (often 208 KiB), which turns a
# scheduling hiccup of a few milliseconds into loss. As root, raise the caps
# to 4 MiB for the run and put them back afterwards.
restore=()
if [ "$(id -u)" = 0 ]; then
  for k in net.core.rmem_max net.core.wmem_max; do
    v=$(sysctl -n "$k" 2>/dev/null || echo 0)
    if [ "$v" -lt 4194304 ] && sysctl -qw "$k=4194304" 2>/dev/null; then restore+=("$k=$v"); fi
  done
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
  for kv in "${restore[@]}"; do sysctl -qw "$kv" || true; done
}
trap cleanup EXIT

go build -o "$tmp/socklab" ./cmd/socklab
go build -o "$tmp/udpbench" ./bench/udpbench

"$tmp/udpbench" echo -listen "$ECHO" & pids+=($!)
"$tmp/socklab" proxy --http 127.0.0.1:0 --access-log off --log-level warn \
  --udp "$SOCKLAB" --udp-upstream "$ECHO" & pids+=($!)
# socat gets the same 4 MiB receive buffers socklab asks for, so the
# comparison is of the relays, not of their buffer defaults.
socat -T 60 "UDP4-LISTEN:${SOCAT##*:},bind=127.0.0.1,reuseaddr,fork,rcvbuf=4194304" "UDP4:$ECHO,rcvbuf=4194304" & pids+=($!)
sleep 1

# clean_rate NAME ADDR: the highest rate in RATES with no loss.
clean_rate() {
  local name=$1 addr=$2 best=0 r try out lost ok
  "$tmp/udpbench" send -target "$addr" -rate 1000 -duration 100ms >/dev/null # open the session / fork
  for r in $RATES; do
    ok=0
    for try in 1 2 3; do
      out=$("$tmp/udpbench" send -target "$addr" -rate "$r" -size "$SIZE" -duration "$DURATION")
      echo "  $name try $try: $out" >&2
      lost=$(sed -n 's/.* lost=\([0-9]*\) .*/\1/p' <<<"$out")
      if [ "$lost" = 0 ]; then ok=1; break; fi
    done
    [ "$ok" = 1 ] || break
    best=$r
  done
  echo "$best"
}

echo "UDP relay, ${SIZE}-byte datagrams, ${DURATION} per rate, loopback ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
direct=$(clean_rate direct "$ECHO")
sl=$(clean_rate socklab "$SOCKLAB")
sc=$(clean_rate socat "$SOCAT")
echo "highest clean rate (datagrams/s): direct=$direct socklab=$sl socat=$sc"
# delivered ADDR: datagrams/s that came back when offered SATURATE/s.
delivered() {
  local out
  out=$("$tmp/udpbench" send -target "$1" -rate "$SATURATE" -size "$SIZE" -duration "$DURATION")
  echo "  $2 saturate: $out" >&2
  awk -v r="$(sed -n 's/.* received=\([0-9]*\) .*/\1/p' <<<"$out")" -v d="$secs" 'BEGIN { printf "%d", r / d }'
}
dsl=$(delivered "$SOCKLAB" socklab)
dsc=$(delivered "$SOCAT" socat)
if [ "$sc" -gt 0 ]; then
  awk -v a="$sl" -v b="$sc" 'BEGIN { printf "ratio socklab/socat = %.2f\n", a / b }'
else
  echo "ratio socklab/socat = n/a (socat lost datagrams at every rate)"
fi
echo "offered ${SATURATE}/s: socklab delivered ${dsl}/s, socat ${dsc}/s"
awk -v a="$dsl" -v b="$dsc" 'BEGIN { if (b > 0) printf "ratio socklab/socat at saturation = %.2f\n", a / b }'
