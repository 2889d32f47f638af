package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/monitor/monitorresult"
)

func monitorFixture(now time.Time) []monitorresult.Status {
	var hist []monitorresult.Bucket
	for i := range 6 {
		b := monitorresult.Bucket{Start: now.Add(time.Duration(i-5) * 10 * time.Second).Truncate(10 * time.Second), Sent: 10}
		if i == 3 {
			b.Lost = 10 // a bucket where everything was lost: the pen lifts
		} else {
			b.Received = 9
			b.Lost = 1
			for k := range 9 {
				b.RTT.Add(float64(time.Duration(500+100*k+50*i) * time.Microsecond))
			}
		}
		hist = append(hist, b)
	}
	return []monitorresult.Status{
		{Target: "udp://127.0.0.1:9000", Kind: monitorresult.KindUDP, Sent: 60, Received: 45, Lost: 15, LostUp: 10, LostDown: 5,
			Duplicates: 1, Reordered: 2, JitterUp: 120 * time.Microsecond, JitterDown: 80 * time.Microsecond,
			LastRTT: 900 * time.Microsecond, Up: true, History: hist},
		{Target: "http://127.0.0.1:8000/<x>", Kind: monitorresult.KindHTTP, Sent: 3, Lost: 3, LastError: "connection refused"},
	}
}

func TestMonitorHTMLGolden(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	if err := WriteMonitorHTML(&b, monitorFixture(now), now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script", "http://127.0.0.1:8000/<x>", "src=\"http"} {
		if strings.Contains(out, bad) {
			t.Errorf("page contains %q (scripts, unescaped text or remote resources)", bad)
		}
	}
	// An RTT and a loss chart for the target with history; a note, not
	// empty axes, for the one that never answered.
	if strings.Count(out, "<svg") != 2 || !strings.Contains(out, "No probe decided") {
		t.Errorf("want two charts and one note, got %d charts", strings.Count(out, "<svg"))
	}
	golden(t, "monitor.html", b.Bytes())
}
