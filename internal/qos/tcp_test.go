package qos

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// bytesHandler stands in for socklab serve's /_socklab/bytes?n=N: n bytes,
// or an endless paced stream for n=endless.
func bytesHandler(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/_socklab/bytes" {
		http.NotFound(w, r)
		return
	}
	chunk := make([]byte, 64<<10)
	if n, err := strconv.Atoi(r.URL.Query().Get("n")); err == nil {
		w.Header().Set("Content-Length", strconv.Itoa(n))
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			n -= k
		}
		return
	}
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		time.Sleep(time.Millisecond) // ~64 MB/s: enough to measure, cheap on CI
	}
}

func TestTCPMode(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(bytesHandler))
	defer srv.Close()

	t.Run("lasts its duration when the body runs out", func(t *testing.T) {
		// 200 kB ends in well under the duration on loopback: the run asks
		// again rather than stopping early.
		const body, dur = 200000, 300 * time.Millisecond
		r, err := Run(context.Background(), Config{TCP: srv.URL + "/_socklab/bytes?n=200000", Duration: dur})
		if err != nil {
			t.Fatal(err)
		}
		tc := r.TCP
		if r.Protocol != "tcp" || tc == nil || tc.Requests < 2 || tc.Bytes < int64(tc.Requests-1)*body || tc.GoodputBps <= 0 {
			t.Fatalf("%+v %+v", r, tc)
		}
		if r.SendDuration < dur {
			t.Fatalf("run ended after %v, before its duration %v", r.SendDuration, dur)
		}
	})
	t.Run("streams for the duration with intervals", func(t *testing.T) {
		var mu sync.Mutex
		var ivs []IntervalStats
		cfg := Config{TCP: srv.URL + "/_socklab/bytes?n=endless", Duration: 300 * time.Millisecond, ReportInterval: 100 * time.Millisecond,
			OnEvent: func(e Event) {
				if e.Kind == EventInterval {
					mu.Lock()
					ivs = append(ivs, e.Intervals...)
					mu.Unlock()
				}
			}}
		r, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		tc := r.TCP
		var sum int64
		for _, iv := range tc.Intervals {
			sum += iv.Bytes
		}
		if len(tc.Intervals) < 2 || sum != tc.Bytes || tc.Bytes == 0 || len(ivs) != len(tc.Intervals) {
			t.Fatalf("%d intervals summing to %d of %d bytes, %d events", len(tc.Intervals), sum, tc.Bytes, len(ivs))
		}
		if runtime.GOOS == "linux" && (!tc.InfoKnown || tc.RTT <= 0 || tc.MSS <= 0) {
			t.Fatalf("TCP_INFO on linux: known %v rtt %v mss %d", tc.InfoKnown, tc.RTT, tc.MSS)
		}
	})
	t.Run("bare origin gets the bytes endpoint", func(t *testing.T) {
		u, err := tcpURL("http://127.0.0.1:8000")
		if err != nil || u != "http://127.0.0.1:8000/_socklab/bytes?n="+tcpStreamBytes {
			t.Fatalf("%q %v", u, err)
		}
		if u, _ := tcpURL("http://h:1/x?n=5"); u != "http://h:1/x?n=5" {
			t.Fatalf("explicit path changed: %q", u)
		}
	})
	t.Run("not found is an error", func(t *testing.T) {
		_, err := Run(context.Background(), Config{TCP: srv.URL + "/nope", Duration: time.Second})
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("err = %v", err)
		}
	})
}

// fakeInfo is a TCP_INFO reading that grows by fixed steps per snapshot.
type fakeInfo struct {
	mu sync.Mutex
	n  int64
}

func (f *fakeInfo) snap() tcpInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return tcpInfo{ok: true, rtt: time.Millisecond, retrans: 3 * f.n, ooo: 5 * f.n}
}

// The interval's Retrans column is TCP_INFO's retransmits alone; segments
// out of order are their own column.
func TestTCPIntervalSeparatesRetransmitsFromOutOfOrder(t *testing.T) {
	var total atomic.Int64
	tres := &TCPResult{}
	var mu sync.Mutex
	done := make(chan struct{})
	var got []IntervalStats
	cfg := Config{Duration: time.Second, ReportInterval: time.Hour, OnEvent: func(e Event) {
		got = append(got, e.Intervals...)
	}}
	total.Store(1000)
	close(done) // only the final interval: one snapshot
	tcpReporter(cfg, time.Now().Add(-time.Second), &total, &fakeInfo{}, tres, &mu, done)
	if len(got) != 1 || got[0].TCPRetransmits != 3 || got[0].TCPOutOfOrder != 5 {
		t.Fatalf("intervals %+v, want retransmits 3 and out of order 5", got)
	}
	if iv := tres.Intervals[0]; iv.Retransmits != 3 || iv.OutOfOrder != 5 {
		t.Fatalf("result interval %+v", iv)
	}
}
