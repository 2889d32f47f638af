// Package load owns socklab's client side: the concurrent load engine behind
// "socklab load" (HTTP(S) and UDP, closed or open loop), the single-request
// probe with an httptrace timing split behind "socklab get", and the small
// connectivity checks the interactive client runs (TCP connect, one UDP echo
// round trip).
//
// Results are aggregated per client without locks and merged at the end;
// latencies go into bounded-memory stats.Histograms, so a run of any length
// uses constant memory. The engine never prints: callers render a Result.
package load
