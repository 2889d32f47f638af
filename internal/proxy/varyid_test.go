package proxy

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestVaryIDsDoNotCollideAcrossInstances: two proxies share one store (the
// Redis tier). A keeps more variants than its marker remembers, then is
// purged; the unremembered variants stay in the store, unreachable only
// because the next marker gets a new ID. A second instance creating that
// next marker must not pick A's ID again and so resurrect them.
func TestVaryIDsDoNotCollideAcrossInstances(t *testing.T) {
	ctx := context.Background()
	st, err := NewMemoryStore(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	a, b := &cache{store: st}, &cache{store: st}
	const primary = "GET http://origin/page"
	resp := func(body string) *Entry {
		return &Entry{Status: 200, Header: http.Header{"Vary": {"Accept"}}, Body: []byte(body),
			ResponseTime: time.Now(), StoreUntil: time.Now().Add(time.Hour)}
	}
	req := func(accept string) map[string][]string { return map[string][]string{"Accept": {accept}} }
	for i := range maxVariants + 6 {
		if err := a.put(ctx, primary, req(fmt.Sprint("v", i)), resp(fmt.Sprint("old ", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.invalidate(ctx, primary); err != nil {
		t.Fatal(err)
	}
	if err := b.put(ctx, primary, req("new"), resp("new")); err != nil {
		t.Fatal(err)
	}
	for i := range 6 { // the variants A's marker had forgotten
		e, _, _, err := b.lookup(ctx, primary, req(fmt.Sprint("v", i)))
		if err != nil {
			t.Fatal(err)
		}
		if e != nil {
			t.Fatalf("purged variant v%d came back (%q) under the second instance's marker", i, e.Body)
		}
	}
}

// The access log's time has a fixed width (milliseconds), so lines align.
func TestFormatAccessTimeWidth(t *testing.T) {
	for _, ns := range []int{0, 30_278_823, 49_602_630} {
		e := AccessEntry{Time: time.Date(2026, 11, 21, 5, 37, 59, ns, time.UTC), Client: "127.0.0.1", Method: "GET", URL: "/", Status: 200}
		got := FormatAccess(e)
		if want := fmt.Sprintf("2026-11-21T05:37:59.%03dZ ", ns/1e6); got[:len(want)] != want {
			t.Fatalf("FormatAccess = %q, want prefix %q", got, want)
		}
	}
}
