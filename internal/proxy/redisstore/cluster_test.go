package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socklab/socklab/internal/proxy/redisstore/redistest"
)

// pathBody is what the test origin answers for path: distinct per path and
// three chunks long (the tests' chunk size is 4 KiB), so a mix-up or a
// partial body shows.
func pathBody(path string) []byte {
	return bytes.Repeat([]byte(path+"|"), (3*(4<<10)+7)/(len(path)+1)+1)
}

func doHeader(t *testing.T, u string, h http.Header) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "shared.example"
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestCluster runs two real proxies on a real 3-master Redis Cluster with
// one replica each: a miss on one is a byte-exact hit on the other, every
// key of an object (Vary marker and variants included) is in one slot, a
// PURGE on one reaches the other's L1, and a master killed mid-run leaves
// every response correct. One cluster serves every subtest (creating one
// takes seconds); the failover comes last.
func TestCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3, 1)
	s := newSharedOn(t, c.URL(), 2, pathBody, false, nil)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(strings.TrimPrefix(c.URL(), SchemeCluster), ",")})
	t.Cleanup(func() { _ = cc.Close() })
	ctx := context.Background()

	t.Run("miss on one is a hit on the other", func(t *testing.T) {
		resp, got, err := doHeader(t, s.proxies[0].URL+"/obj", nil)
		if err != nil || resp.Header.Get("X-Cache") != "MISS" || !bytes.Equal(got, pathBody("/obj")) {
			t.Fatalf("A: %v, X-Cache %q, %d bytes", err, resp.Header.Get("X-Cache"), len(got))
		}
		s.stored(t, 0, 1)
		resp, got, err = doHeader(t, s.proxies[1].URL+"/obj", nil)
		if err != nil || resp.Header.Get("X-Cache") != "HIT" || !bytes.Equal(got, pathBody("/obj")) {
			t.Fatalf("B: %v, X-Cache %q (Cache-Status %q), %d bytes; want a byte-exact HIT", err, resp.Header.Get("X-Cache"), resp.Header.Get("Cache-Status"), len(got))
		}
		if st := s.stores[1].TierStats(); st.L2Hits == 0 {
			t.Fatalf("B's hit did not come from the cluster: %+v", st)
		}
	})

	t.Run("one object, one slot", func(t *testing.T) {
		for _, lang := range []string{"en", "fr"} {
			if _, _, err := doHeader(t, s.proxies[0].URL+"/vary", http.Header{"Accept-Language": {lang}}); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		slots := map[int64][]string{}
		err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			keys, err := m.Keys(ctx, DefaultPrefix+"*").Result()
			for _, k := range keys {
				slot, err := cc.ClusterKeySlot(ctx, k).Result()
				if err != nil {
					return err
				}
				mu.Lock()
				slots[slot] = append(slots[slot], k)
				mu.Unlock()
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// /obj and /vary: two objects, each with meta values and chunks (and
		// for /vary a marker and two variants), in exactly two slots.
		if len(slots) != 2 {
			t.Fatalf("keys of 2 objects spread over %d slots: %v", len(slots), slots)
		}
		r := s.stores[0].Remote()
		h := r.hash("GET http://shared.example/vary")
		v := r.hash("GET http://shared.example/vary\x00id\x00accept-language:en")
		for _, k := range []string{r.metaKey(h), r.lockKey(h), r.metaKey(v), r.chunkKeys(v, prefix{gen: noGen, chunks: 1})[0]} {
			slot, _ := cc.ClusterKeySlot(ctx, k).Result()
			if want, _ := cc.ClusterKeySlot(ctx, r.metaKey(h)).Result(); slot != want {
				t.Errorf("%s in slot %d, the object's meta value in %d", k, slot, want)
			}
		}
	})

	t.Run("purge reaches the other proxy", func(t *testing.T) {
		stores := s.stores[0].TierStats().L2Stores
		doHeader(t, s.proxies[0].URL+"/p", nil)
		s.stored(t, 0, stores+1)
		if resp, _, _ := doHeader(t, s.proxies[1].URL+"/p", nil); resp.Header.Get("X-Cache") != "HIT" {
			t.Fatalf("B: %s, want HIT", resp.Header.Get("X-Cache"))
		}
		before := s.hits.Load()
		req, _ := http.NewRequest("PURGE", s.proxies[0].URL+"/p", nil)
		req.Host = "shared.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("PURGE on A: %v %v", err, resp)
		}
		resp.Body.Close()
		eventually(t, 2*time.Second, "B misses after the purge on A", func() bool {
			resp, _, _ := doHeader(t, s.proxies[1].URL+"/p", nil)
			return resp.Header.Get("X-Cache") == "MISS"
		})
		if s.hits.Load() != before+1 {
			t.Fatalf("origin saw %d more requests, want 1", s.hits.Load()-before)
		}
	})

	t.Run("master killed mid-run", func(t *testing.T) { clusterFailover(t, c, cc, s) })
}

// clusterFailover kills the master holding /f0's slot while both proxies
// serve a mix of cached and new paths, and checks every response; then,
// once the replica is promoted, the shared tier hits again.
func clusterFailover(t *testing.T, c *redistest.Cluster, cc *redis.ClusterClient, s *sharedSetup) {
	ctx := context.Background()
	const warm = 12
	for i := range warm {
		doHeader(t, s.proxies[0].URL+fmt.Sprintf("/f%d", i), nil)
	}
	master := masterOf(t, cc, s.stores[0].Remote().metaKey(s.stores[0].Remote().hash("GET http://shared.example/f0")))
	node := c.Node(master)
	if node == nil {
		t.Fatalf("no node at %s", master)
	}
	node.Kill()

	bad := 0
	deadline := time.Now().Add(4 * time.Second)
	for n := 0; time.Now().Before(deadline); n++ {
		path := fmt.Sprintf("/f%d", n%(2*warm)) // half cached, half new at first
		resp, got, err := doHeader(t, s.proxies[n%2].URL+path, nil)
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, pathBody(path)) {
			bad++
			t.Errorf("proxy %d %s during the failover: %v, status %v, %d bytes", n%2, path, err, resp, len(got))
			if bad > 5 {
				t.FailNow()
			}
		}
	}
	// The replica takes over: a new object stored through A is a hit on B.
	eventually(t, 20*time.Second, "a shared hit after the failover", func() bool {
		path := fmt.Sprintf("/after-%d", time.Now().UnixNano())
		if resp, got, err := doHeader(t, s.proxies[0].URL+path, nil); err != nil || !bytes.Equal(got, pathBody(path)) || resp.StatusCode != http.StatusOK {
			return false
		}
		time.Sleep(50 * time.Millisecond) // A stores after answering
		resp, got, err := doHeader(t, s.proxies[1].URL+path, nil)
		return err == nil && resp.Header.Get("X-Cache") == "HIT" && bytes.Equal(got, pathBody(path))
	})
	if err := cc.Ping(ctx).Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Logf("cluster after failover: %v", err)
	}
}

// masterOf is the address of the master serving key's slot.
func masterOf(t *testing.T, cc *redis.ClusterClient, key string) string {
	t.Helper()
	ctx := context.Background()
	slot, err := cc.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	shards, err := cc.ClusterShards(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards {
		for _, r := range sh.Slots {
			if r.Start <= slot && slot <= r.End {
				for _, n := range sh.Nodes {
					if n.Role == "master" {
						return fmt.Sprintf("%s:%d", n.IP, n.Port)
					}
				}
			}
		}
	}
	t.Fatalf("no master for slot %d", slot)
	return ""
}
