// Package stats holds the measurement arithmetic every socklab tool shares:
// running summaries (Welford), a bounded-memory latency histogram with
// quantiles, RFC 3550 interarrival jitter, RFC 3393/5481 IPDV, and a
// sequence tracker for duplicates and RFC 4737 reordering.
//
// It is pure: values (and times, as int64 nanoseconds) are passed in; it opens
// no socket, reads no clock and starts no goroutine. Nothing here is safe for
// concurrent use; callers own the locking.
package stats
