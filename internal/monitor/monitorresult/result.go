// Package monitorresult holds what socklab monitor knows about each target,
// as plain values: the engine (internal/monitor) fills them, the live page
// (internal/report) draws them. It opens no socket.
package monitorresult

import (
	"time"

	"github.com/socklab/socklab/internal/stats"
)

// Kind is how a target is probed.
type Kind string

// Target kinds.
const (
	KindUDP  Kind = "udp"  // socklab QoS probes to a reflector (udp://host:port)
	KindICMP Kind = "icmp" // ICMP echo (icmp://host)
	KindHTTP Kind = "http" // timed GET of an http:// or https:// URL
)

// Status is one target's counters since it was added, its latest figures,
// and its history (in Snapshot).
type Status struct {
	Target     string
	Kind       Kind
	Sent       int64
	Received   int64
	Lost       int64
	LostUp     int64 // UDP: lost on the way to the reflector
	LostDown   int64 // UDP: reflected, lost on the way back
	Duplicates int64
	Reordered  int64
	// JitterUp and JitterDown are the RFC 3550 estimates of each direction
	// (UDP); JitterRoundTrip is that of the RTT (ICMP, HTTP).
	JitterUp, JitterDown, JitterRoundTrip time.Duration
	LastRTT                               time.Duration
	// Up is whether the last probe decided was answered.
	Up bool
	// LastError is the latest local failure ("" when none): a socket
	// refused, ICMP not permitted, an HTTP error.
	LastError string
	History   []Bucket
}

// Bucket is one step of a target's history: the probes sent in
// [Start, Start+step) and what became of them.
type Bucket struct {
	Start    time.Time
	Sent     int64
	Received int64
	Lost     int64
	RTT      stats.Summary // nanoseconds, of the replies
}
