package load

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/load/loadresult"
	"github.com/socklab/socklab/internal/stats"
)

// TestMergeThreeRealRuns runs three generators at once against one real
// server, each result going through its JSON form as between hosts; the
// merged totals are the sums and the merged p99 is the p99 of one histogram
// fed every latency the three recorded.
func TestMergeThreeRealRuns(t *testing.T) {
	var served sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fail") != "" {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		served.Store(r.RemoteAddr, true)
		w.Write([]byte("merge me\n"))
	}))
	defer srv.Close()

	var mu sync.Mutex
	all := stats.NewHistogram()
	observe := func(d time.Duration) { mu.Lock(); all.Record(int64(d)); mu.Unlock() }
	startAt := time.Now().Add(200 * time.Millisecond)
	targets := []string{srv.URL + "/a", srv.URL + "/b", srv.URL + "/c?fail=1"}
	files := make([][]byte, len(targets))
	var wg sync.WaitGroup
	for i, target := range targets {
		wg.Go(func() {
			l, err := New(Config{Target: target, Clients: 2, Requests: int64(100 * (i + 1)), StartAt: startAt, OnLatency: observe})
			if err != nil {
				t.Error(err)
				return
			}
			r, err := l.Run(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			if r.StartedAt.Before(startAt) {
				t.Errorf("generator %d started at %v, before --start-at %v", i, r.StartedAt, startAt)
			}
			files[i], err = json.Marshal(r)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var inputs []loadresult.Input
	var sumReq, sumOK, sumBytes, sum503 int64
	for i, b := range files {
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("generator %d: %v", i, err)
		}
		sumReq += r.Requests
		sumOK += r.Successes
		sumBytes += r.Bytes
		sum503 += r.StatusCodes["503"]
		inputs = append(inputs, loadresult.Input{Name: targets[i], Result: &r})
	}
	m, err := loadresult.Merge(inputs)
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 600 || m.Requests != sumReq || m.Successes != sumOK || m.Bytes != sumBytes || m.Successes != 300 {
		t.Fatalf("merged requests %d ok %d bytes %d, want sums %d %d %d (600, 300 ok)", m.Requests, m.Successes, m.Bytes, sumReq, sumOK, sumBytes)
	}
	if !maps.Equal(m.StatusCodes, map[string]int64{"200": 300, "503": 300}) || sum503 != 300 || m.Errors[KindStatus5xx] != 300 {
		t.Fatalf("status %v errors %v", m.StatusCodes, m.Errors)
	}
	if all.Count() != 600 || m.Latency.Count != 600 {
		t.Fatalf("observed %d latencies, merged histogram %d, want 600", all.Count(), m.Latency.Count)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		if got, want := m.Hist.Quantile(q), all.Quantile(q); got != want {
			t.Errorf("q%v: merged %d ns, one histogram of all samples %d ns", q, got, want)
		}
	}
	if want := float64(all.Quantile(0.99)) / 1e6; m.Latency.P99 != want {
		t.Errorf("merged p99 %v ms, want %v", m.Latency.P99, want)
	}
	if m.StartSkewMs == nil || *m.StartSkewMs > 100 {
		t.Errorf("start skew %v ms: --start-at did not line the generators up", m.StartSkewMs)
	}
}

func TestStartAtStoppedBeforeStart(t *testing.T) {
	l, err := New(Config{Target: "http://127.0.0.1:1/", Requests: 1, StartAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Run(ctx); !errors.Is(err, ErrStoppedBeforeStart) {
		t.Fatalf("got %v, want ErrStoppedBeforeStart", err)
	}
}
