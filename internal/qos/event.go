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
