// Package report is socklab's presentation layer: every renderer of every
// command — text for people, JSON documents and NDJSON events, CSV rows,
// self-contained HTML pages with inline SVG charts. It is pure: renderers
// take plain result types (and, where a page is dated, the generation
// time) and write to an io.Writer. It opens no file, reads no clock and
// imports no engine that opens sockets: the result types it reads live in
// socket-free packages (qos/qosresult, icmp/icmpresult, load/loadresult,
// capture). internal/cli opens files and passes time.Now().
//
// Every latency distribution in a JSON document has one shape, LatencyDoc
// ({n, min_ms, avg_ms, p50_ms, p90_ms, p95_ms, p99_ms, max_ms, stddev_ms});
// durations are milliseconds, except the SPEC's flat qos fields (the CSV
// columns, duration_s among them), which stay as scripts know them.
//
//	qos        WriteQoSText, WriteQoSInterval(Header), WriteTCPInterval(Header),
//	           QoSJSON / WriteQoSJSON, WriteQoSEvent (NDJSON), WriteQoSCSV, WriteQoSHTML
//	load       WriteLoadText, LoadJSON
//	get        WriteGetText, WriteGetSaving, GetJSON
//	ping       PingHeader, FormatPingEvent, WritePingSummary, PingJSON
//	traceroute TraceHeader, FormatHop, TraceJSON
//	analyze    CaptureText, CaptureCSV, CaptureHTML (JSON: capture.Result as is)
//
// svg.go holds the generic chart primitives (LineChart, BarChart,
// Histogram, Table, Page) that every HTML report here is built from.
// testdata holds a golden file per renderer; go test -update rewrites them.
package report
