package qos

import "time"

// EventKind names what an Event reports.
type EventKind string

// Event kinds, in the order a run emits them.
const (
	EventStart    EventKind = "start"    // sockets open, sending begins
	EventInterval EventKind = "interval" // one report interval is over
	EventProgress EventKind = "progress" // a few times a second, for progress bars
	EventEnd      EventKind = "end"      // the run is over; Result is set
)

// Event is what Config.OnEvent receives.
type Event struct {
	Kind    EventKind
	Time    time.Time
	Elapsed time.Duration // since the start of the run

	// Interval events: one entry per stream and, with several streams, a
	// last entry with Stream 0 for all of them.
	Intervals []IntervalStats

	// Progress: probes sent and answered so far over all streams, and the
	// share of the planned run done (0..1; -1 when the run has no known end).
	Sent, Received int64
	Fraction       float64

	// Start: the effective configuration; End: the final result.
	Config *Config
	Result *Result
}

// IntervalStats covers one stream (or all, Stream 0) over [Start, End).
type IntervalStats struct {
	Stream     int
	Start, End time.Duration
	Sent       int64 // probes sent in the interval
	Received   int64 // unique replies that arrived in the interval
	Lost       int64 // new gaps below the highest answered sequence number (as iperf3 counts)
	Duplicates int64
	Late       int64
	RTTMin     time.Duration // of replies that arrived in the interval
	RTTAvg     time.Duration
	RTTMax     time.Duration
	JitterUp   time.Duration // RFC 3550 estimate at the end of the interval
	JitterDown time.Duration
	GoodputBps float64 // payload bit/s of the interval's unique replies
	// TCP mode only:
	Bytes          int64 // received in the interval
	TCPRTT         time.Duration
	TCPRetransmits int64
}
