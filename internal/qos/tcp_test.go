package qos

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
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

	t.Run("ends at EOF with every byte counted", func(t *testing.T) {
		r, err := Run(context.Background(), Config{TCP: srv.URL + "/_socklab/bytes?n=5000000", Duration: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if r.Protocol != "tcp" || r.TCP == nil || r.TCP.Bytes != 5000000 || r.TCP.GoodputBps <= 0 {
			t.Fatalf("%+v %+v", r, r.TCP)
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
