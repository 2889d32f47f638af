// Package monitor probes many targets continuously at a low rate and keeps
// what Prometheus and a live page need: socklab QoS probes to UDP reflectors
// (RTT, loss split by direction with the reflector's receive count,
// duplicates, reordering, RFC 3550 jitter each way), ICMP echo through
// internal/icmp's pinger, and timed HTTP GETs.
//
// A Monitor exports counters and histograms named socklab_monitor_* to the
// Prometheus registerer it is given, and keeps the last hour of each target
// in fixed-size buckets for Snapshot. It never prints; targets can be
// replaced while it runs (SetTargets), for a reload on SIGHUP.
package monitor
