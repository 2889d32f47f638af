//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/stats"
)

// loadDoc is the part of a load --json document this test reads.
type loadDoc struct {
	Requests  int64            `json:"requests"`
	Successes int64            `json:"successes"`
	Bytes     int64            `json:"bytes"`
	Status    map[string]int64 `json:"status_codes"`
	StartedAt time.Time        `json:"started_at"`
	Latency   struct {
		P99 float64 `json:"p99_ms"`
	} `json:"latency"`
	Hist       *stats.Histogram        `json:"latency_histogram_ns"`
	Generators []struct{ Name string } `json:"generators"`
}

// TestLoadMergeThreeGenerators is the multi-host recipe on one machine:
// three socklab load processes started together with --start-at against one
// socklab serve, each writing --out, then socklab merge. The merged totals are
// the sums, and the merged p99 is the p99 of the three histograms taken as
// one, not an average of the three p99s.
func TestLoadMergeThreeGenerators(t *testing.T) {
	tcp, udp := freePorts(t, 1)
	serve := start(t, "serve", "serve", "--http", tcp[0], "--udp", udp[0])
	waitTCP(t, serve, tcp[0])

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	at := time.Now().Add(1500 * time.Millisecond)
	startAt := fmt.Sprintf("%d.%03d", at.Unix(), at.Nanosecond()/1e6)
	files := make([]string, 3)
	var wg sync.WaitGroup
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("gen%d.json", i+1))
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, bin, "load", "--clients", "2", "--requests", fmt.Sprint(100*(i+1)),
				"--start-at", startAt, "--out", files[i], "http://"+tcp[0]+"/")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("load %d: %v\n%s", i+1, err, out)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	var sum loadDoc
	union := stats.NewHistogram()
	for _, f := range files {
		var d loadDoc
		readJSON(t, f, &d)
		if d.StartedAt.Before(at.Add(-time.Millisecond)) {
			t.Errorf("%s started at %v, before --start-at %v", f, d.StartedAt, at)
		}
		sum.Requests += d.Requests
		sum.Successes += d.Successes
		sum.Bytes += d.Bytes
		union.Merge(d.Hist)
	}
	if sum.Requests != 600 || sum.Successes != 600 {
		t.Fatalf("generators sent %d requests, %d ok; want 600", sum.Requests, sum.Successes)
	}

	out, err := exec.CommandContext(ctx, bin, append([]string{"merge", "--json"}, files...)...).Output()
	if err != nil {
		t.Fatalf("merge --json: %v", err)
	}
	var m loadDoc
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("merge --json: %v\n%s", err, out)
	}
	if m.Requests != sum.Requests || m.Successes != sum.Successes || m.Bytes != sum.Bytes || m.Status["200"] != 600 {
		t.Errorf("merged requests %d ok %d bytes %d status %v, want the sums %d %d %d", m.Requests, m.Successes, m.Bytes, m.Status, sum.Requests, sum.Successes, sum.Bytes)
	}
	if want := float64(union.Quantile(0.99)) / 1e6; m.Latency.P99 != want || m.Hist.Count() != 600 {
		t.Errorf("merged p99 %v ms over %d latencies, want %v ms (p99 of the three histograms as one) over 600", m.Latency.P99, m.Hist.Count(), want)
	}
	if len(m.Generators) != 3 || m.Generators[2].Name != files[2] {
		t.Errorf("generator rows %+v", m.Generators)
	}

	text, err := exec.CommandContext(ctx, bin, append([]string{"merge"}, files...)...).CombinedOutput()
	if err != nil || !bytes.Contains(text, []byte("merge of 3 generators")) || strings.Count(string(text), "gen") < 3 {
		t.Errorf("merge (text): %v\n%s", err, text)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
