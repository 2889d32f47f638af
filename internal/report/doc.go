// Package report renders measurement results for people and scripts: text
// tables, JSON documents and NDJSON events, CSV rows, and self-contained
// HTML pages with inline SVG charts. Every renderer writes to an io.Writer
// (the CSV appender alone opens a file) and nothing here measures anything.
//
// QoS results (internal/qos):
//
//	WriteQoSText(w, res)            summary table, as the qos command prints it
//	WriteQoSIntervalHeader / WriteQoSInterval   iperf3-style interval lines
//	WriteTCPIntervalHeader / WriteTCPInterval   the same for qos --tcp
//	WriteQoSJSON(w, res), QoSJSON(res)          the --json document
//	WriteQoSEvent(w, ev)            one NDJSON line per event (--json-stream)
//	AppendQoSCSV(path, res)         one row per run, header on a new file
//	WriteQoSHTML(w, res)            the --report page
//
// svg.go holds the generic chart primitives (LineChart, BarChart,
// Histogram, Table, Page) that every HTML report here is built from.
package report
