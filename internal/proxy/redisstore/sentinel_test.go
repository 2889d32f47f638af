package redisstore

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/proxy/redisstore/redistest"
)

// TestSentinel runs two real proxies on a master found through a real
// Sentinel: a miss on one is a byte-exact hit on the other; the master is
// then killed, every response stays correct, and once the Sentinel has
// promoted the replica the tier hits again on the new master.
func TestSentinel(t *testing.T) {
	sn := redistest.StartSentinel(t)
	s := newSharedOn(t, sn.URL(0), 2, pathBody, false, nil)
	resp, got, err := doHeader(t, s.proxies[0].URL+"/s", nil)
	if err != nil || resp.Header.Get("X-Cache") != "MISS" || !bytes.Equal(got, pathBody("/s")) {
		t.Fatalf("A: %v %v", err, resp)
	}
	s.stored(t, 0, 1)
	resp, got, err = doHeader(t, s.proxies[1].URL+"/s", nil)
	if err != nil || resp.Header.Get("X-Cache") != "HIT" || !bytes.Equal(got, pathBody("/s")) {
		t.Fatalf("B: %v, X-Cache %q, %d bytes; want a byte-exact HIT", err, resp.Header.Get("X-Cache"), len(got))
	}

	old := sn.MasterAddr(t)
	sn.Master.Kill()
	deadline := time.Now().Add(3 * time.Second)
	for n := 0; time.Now().Before(deadline); n++ {
		path := fmt.Sprintf("/s%d", n%8)
		resp, got, err := doHeader(t, s.proxies[n%2].URL+path, nil)
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, pathBody(path)) {
			t.Fatalf("proxy %d %s with the master down: %v %v, %d bytes", n%2, path, err, resp, len(got))
		}
	}
	eventually(t, 30*time.Second, "the Sentinel promotes the replica", func() bool {
		a := sn.MasterAddr(t)
		return a != "" && a != old
	})
	eventually(t, 20*time.Second, "a shared hit on the new master", func() bool {
		path := fmt.Sprintf("/after-%d", time.Now().UnixNano())
		if _, got, err := doHeader(t, s.proxies[0].URL+path, nil); err != nil || !bytes.Equal(got, pathBody(path)) {
			return false
		}
		time.Sleep(50 * time.Millisecond) // A stores after answering
		resp, got, err := doHeader(t, s.proxies[1].URL+path, nil)
		return err == nil && resp.Header.Get("X-Cache") == "HIT" && bytes.Equal(got, pathBody(path))
	})
}
