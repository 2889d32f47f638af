package qos

import "github.com/socklab/socklab/internal/qos/qosresult"

// The result types live in qosresult, which opens no socket, so that
// internal/report can render them without importing this engine.
type (
	Result        = qosresult.Result
	StreamResult  = qosresult.StreamResult
	Latency       = qosresult.Latency
	IPDV          = qosresult.IPDV
	Throughput    = qosresult.Throughput
	Diagnostics   = qosresult.Diagnostics
	Point         = qosresult.Point
	TCPResult     = qosresult.TCPResult
	TCPInterval   = qosresult.TCPInterval
	IntervalStats = qosresult.IntervalStats
	Warning       = qosresult.Warning
)
