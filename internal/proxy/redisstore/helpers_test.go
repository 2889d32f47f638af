package redisstore

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socklab/socklab/internal/proxy"
	"github.com/socklab/socklab/internal/proxy/redisstore/redistest"
)

// testTimeout bounds every Redis call in the tests. It is generous because
// most tests check logic (coalescing, propagation), not the timeout, and the
// production default (50ms) is missed under -race on a busy 2-core machine,
// which makes the tier bypass Redis by design.
const testTimeout = 500 * time.Millisecond

// open returns a tier on srv with a small chunk size, subscribed before it
// is returned, and closed when the test ends.
func open(t *testing.T, srv *redistest.Server, l1 int64) *Tiered {
	t.Helper()
	return openURL(t, srv.URL(0), l1)
}

// openURL is open for any store URL (a cluster's, say).
func openURL(t *testing.T, storeURL string, l1 int64) *Tiered {
	t.Helper()
	ts, err := Open(storeURL, Options{ChunkSize: 4 << 10, Timeout: testTimeout, L1Bytes: l1, RetryAfter: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = ts.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.WaitSubscribed(ctx); err != nil {
		t.Fatalf("subscription never came up: %v", err)
	}
	return ts
}

// rawClient is a plain client for inspecting and tampering with Redis.
func rawClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func entry(body []byte, ttl time.Duration) *proxy.Entry {
	now := time.Now()
	return &proxy.Entry{
		Status:       http.StatusOK,
		Header:       http.Header{"Content-Type": {"application/octet-stream"}, "Cache-Control": {"max-age=60"}, "Etag": {`"v1"`}},
		Body:         body,
		RequestTime:  now.Add(-time.Millisecond),
		ResponseTime: now,
		StoreUntil:   now.Add(ttl),
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(time.Millisecond)
	}
}
