package redisstore

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/proxy"
	"github.com/socklab/socklab/internal/proxy/redisstore/redistest"
)

func randomBody(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sameEntry(t *testing.T, got, want *proxy.Entry) {
	t.Helper()
	if got.Status != want.Status || !reflect.DeepEqual(got.Header, want.Header) || !bytes.Equal(got.Body, want.Body) ||
		!got.RequestTime.Equal(want.RequestTime) || !got.ResponseTime.Equal(want.ResponseTime) || !got.StoreUntil.Equal(want.StoreUntil) ||
		!reflect.DeepEqual(got.VaryFields, want.VaryFields) || got.VaryID != want.VaryID || !reflect.DeepEqual(got.Variants, want.Variants) ||
		got.IsMarker() != want.IsMarker() {
		t.Fatalf("round trip changed the entry:\n got status %d header %v body %d bytes vary %q/%q/%q times %v %v %v\nwant status %d header %v body %d bytes vary %q/%q/%q times %v %v %v",
			got.Status, got.Header, len(got.Body), got.VaryFields, got.VaryID, got.Variants, got.RequestTime, got.ResponseTime, got.StoreUntil,
			want.Status, want.Header, len(want.Body), want.VaryFields, want.VaryID, want.Variants, want.RequestTime, want.ResponseTime, want.StoreUntil)
	}
}

// TestRoundTrip stores entries of every shape in Redis and reads them back
// through a second instance with no L1, byte-exact, and checks that no
// Redis value exceeds the chunk size.
func TestRoundTrip(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv, 0), open(t, srv, 0)
	marker := &proxy.Entry{VaryFields: []string{"Accept-Encoding"}, VaryID: "k3", Variants: []string{"GET http://x/\x00k3\x00gzip"}}
	tests := []struct {
		name       string
		e          *proxy.Entry
		wantChunks int
	}{
		{"small inline", entry([]byte("hello"), time.Minute), 0},
		{"empty body", entry(nil, time.Minute), 0},
		{"exactly one chunk of body", entry(randomBody(4<<10), time.Minute), 1},
		{"several chunks", entry(randomBody(3*(4<<10)+17), time.Minute), 4},
		{"vary marker, no expiry", marker, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			key := "GET http://127.0.0.1/" + strings.ReplaceAll(tt.name, " ", "-")
			if err := a.Set(ctx, key, tt.e); err != nil {
				t.Fatalf("set: %v", err)
			}
			got, err := b.Get(ctx, key)
			if err != nil {
				t.Fatalf("get on the other instance: %v", err)
			}
			sameEntry(t, got, tt.e)
			if n := b.TierStats().L2Hits; n != uint64(i+1) {
				t.Fatalf("L2 hits = %d, want %d", n, i+1)
			}
			rc := rawClient(t, srv)
			chunks, err := rc.Keys(ctx, DefaultPrefix+"c:"+a.l2.hash(key)+":*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) != tt.wantChunks {
				t.Fatalf("%d chunk keys, want %d", len(chunks), tt.wantChunks)
			}
		})
	}
	t.Run("no value over the chunk size", func(t *testing.T) {
		ctx := context.Background()
		rc := rawClient(t, srv)
		keys, err := rc.Keys(ctx, DefaultPrefix+"*").Result()
		if err != nil || len(keys) == 0 {
			t.Fatalf("keys: %v %v", keys, err)
		}
		for _, k := range keys {
			if n := rc.StrLen(ctx, k).Val(); n > 4<<10 {
				t.Errorf("%s holds %d bytes, over the 4 KiB chunk size", k, n)
			}
		}
	})
}

// TestHalfWrittenNeverVisible: chunks without their meta value are not an
// entry, a meta value whose chunks are gone is a miss (never part of a
// body), and replacing a chunked entry deletes the old generation.
func TestHalfWrittenNeverVisible(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv, 0)
	rc := rawClient(t, srv)
	ctx := context.Background()
	body := randomBody(10 << 10)

	t.Run("chunks without meta", func(t *testing.T) {
		key := "GET http://127.0.0.1/half"
		h := s.l2.hash(key)
		enc, err := encode(key, entry(body, time.Minute), randomHex(), 4<<10)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := parsePrefix(enc.meta)
		for i, k := range s.l2.chunkKeys(h, p) {
			rc.Set(ctx, k, enc.chunks[i], time.Minute)
		}
		if _, err := s.Get(ctx, key); !errors.Is(err, proxy.ErrNotFound) {
			t.Fatalf("get of a half-written entry = %v, want ErrNotFound", err)
		}
	})
	t.Run("meta without a chunk", func(t *testing.T) {
		key := "GET http://127.0.0.1/torn"
		if err := s.Set(ctx, key, entry(body, time.Minute)); err != nil {
			t.Fatal(err)
		}
		chunks := rc.Keys(ctx, DefaultPrefix+"c:"+s.l2.hash(key)+":*").Val()
		if len(chunks) != 3 {
			t.Fatalf("%d chunks, want 3", len(chunks))
		}
		rc.Del(ctx, chunks[1])
		before := s.TierStats().L2Incomplete
		if e, err := s.Get(ctx, key); !errors.Is(err, proxy.ErrNotFound) {
			t.Fatalf("get with a chunk missing = %v (%d-byte body), want ErrNotFound", err, len(e.Body))
		}
		if s.TierStats().L2Incomplete != before+1 {
			t.Fatal("the incomplete entry was not counted")
		}
	})
	t.Run("corrupt meta", func(t *testing.T) {
		key := "GET http://127.0.0.1/corrupt"
		rc.Set(ctx, s.l2.metaKey(s.l2.hash(key)), "SLC\x01garbage", time.Minute)
		if _, err := s.Get(ctx, key); !errors.Is(err, proxy.ErrNotFound) {
			t.Fatalf("get of a corrupt value = %v, want ErrNotFound", err)
		}
	})
	t.Run("replace drops the old generation", func(t *testing.T) {
		key := "GET http://127.0.0.1/replaced"
		pattern := DefaultPrefix + "c:" + s.l2.hash(key) + ":*"
		if err := s.Set(ctx, key, entry(body, time.Minute)); err != nil {
			t.Fatal(err)
		}
		first := rc.Keys(ctx, pattern).Val()
		body2 := randomBody(9 << 10)
		if err := s.Set(ctx, key, entry(body2, time.Minute)); err != nil {
			t.Fatal(err)
		}
		second := rc.Keys(ctx, pattern).Val()
		if len(first) != 3 || len(second) != 3 {
			t.Fatalf("chunk keys before %d, after %d; want 3 and 3 (old generation gone)", len(first), len(second))
		}
		got, err := s.Get(ctx, key)
		if err != nil || !bytes.Equal(got.Body, body2) {
			t.Fatalf("get after replace: %v", err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if left := rc.Keys(ctx, pattern).Val(); len(left) != 0 {
			t.Fatalf("delete left chunks %v", left)
		}
	})
}

// TestTTL: the Redis TTL follows StoreUntil, capped by MaxTTL; entries
// without one get MaxTTL; entries already past it are not written.
func TestTTL(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv, 0)
	rc := rawClient(t, srv)
	ctx := context.Background()
	tests := []struct {
		name     string
		until    time.Duration // 0: zero StoreUntil
		min, max time.Duration // 0, 0: not written
	}{
		{"freshness plus stale windows", 90 * time.Second, 80 * time.Second, 90 * time.Second},
		{"no StoreUntil", 0, DefaultMaxTTL - time.Minute, DefaultMaxTTL},
		{"capped", 400 * 24 * time.Hour, DefaultMaxTTL - time.Minute, DefaultMaxTTL},
		{"already past", -time.Second, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "GET http://127.0.0.1/ttl/" + tt.name
			e := entry([]byte("x"), tt.until)
			if tt.until == 0 {
				e.StoreUntil = time.Time{}
			}
			if err := s.Set(ctx, key, e); err != nil {
				t.Fatal(err)
			}
			ttl, err := rc.PTTL(ctx, s.l2.metaKey(s.l2.hash(key))).Result()
			if err != nil {
				t.Fatal(err)
			}
			if tt.max == 0 {
				if ttl != -2*time.Nanosecond && ttl >= 0 {
					t.Fatalf("an expired entry was written (ttl %s)", ttl)
				}
				return
			}
			if ttl < tt.min || ttl > tt.max {
				t.Fatalf("ttl %s, want between %s and %s", ttl, tt.min, tt.max)
			}
		})
	}
}

// TestMissOnAIsHitOnB: what one instance stores, another finds in Redis
// and then keeps in its own L1.
func TestMissOnAIsHitOnB(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv, 1<<20), open(t, srv, 1<<20)
	ctx := context.Background()
	key := "GET http://127.0.0.1/shared"
	if _, err := a.Get(ctx, key); !errors.Is(err, proxy.ErrNotFound) {
		t.Fatalf("first get = %v, want a miss", err)
	}
	want := entry([]byte("shared body"), time.Minute)
	if err := a.Set(ctx, key, want); err != nil {
		t.Fatal(err)
	}
	for i, wantTier := range []string{"l2", "l1"} {
		got, err := b.Get(ctx, key)
		if err != nil {
			t.Fatalf("get %d on B: %v", i, err)
		}
		sameEntry(t, got, want)
		st := b.TierStats()
		if wantTier == "l2" && (st.L2Hits != 1 || st.L1Hits != 0) || wantTier == "l1" && (st.L2Hits != 1 || st.L1Hits != 1) {
			t.Fatalf("get %d: l1 hits %d, l2 hits %d; want it served from %s", i, st.L1Hits, st.L2Hits, wantTier)
		}
	}
}

// TestInvalidationPropagates: a delete, or a new version stored, on one
// instance drops the key from every other instance's L1 within 100 ms.
func TestInvalidationPropagates(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv, 1<<20), open(t, srv, 1<<20)
	ctx := context.Background()
	inL1 := func(s *Tiered, key string) bool {
		_, err := s.l1.Get(ctx, key)
		return err == nil
	}
	tests := []struct {
		name   string
		change func(key string) error
	}{
		{"purge", func(key string) error { return a.Delete(ctx, key) }},
		{"new version", func(key string) error { return a.Set(ctx, key, entry([]byte("v2"), time.Minute)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "GET http://127.0.0.1/inval/" + tt.name
			if err := a.Set(ctx, key, entry([]byte("v1"), time.Minute)); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Get(ctx, key); err != nil || !inL1(b, key) {
				t.Fatalf("B did not fill its L1: %v", err)
			}
			if err := tt.change(key); err != nil {
				t.Fatal(err)
			}
			eventually(t, 100*time.Millisecond, "B's L1 drops the key", func() bool { return !inL1(b, key) })
			got, err := b.Get(ctx, key)
			switch tt.name {
			case "purge":
				if !errors.Is(err, proxy.ErrNotFound) {
					t.Fatalf("B still finds a purged key: %v", err)
				}
			default:
				if err != nil || string(got.Body) != "v2" {
					t.Fatalf("B gets %v, want v2", err)
				}
			}
			if !inL1(a, key) && tt.name != "purge" {
				t.Fatal("A dropped its own new version from its L1")
			}
		})
	}
}

// TestFillRacingInvalidation: an invalidation that arrives while an
// instance reads Redis keeps what it read out of its L1.
func TestFillRacingInvalidation(t *testing.T) {
	const g1, g2 = "1111111111111111", "2222222222222222"
	tests := []struct {
		name   string
		events func(f *fills)
		read   string
		want   bool
	}{
		{"nothing happened", func(*fills) {}, g1, true},
		{"deleted meanwhile", func(f *fills) { f.invalidate("k", noGen) }, g1, false},
		{"the generation read was announced", func(f *fills) { f.invalidate("k", g1) }, g1, true},
		{"another generation was stored", func(f *fills) { f.invalidate("k", g2) }, g1, false},
		{"two stores", func(f *fills) { f.invalidate("k", g1); f.invalidate("k", g2) }, g2, false},
		{"L1 cleared", func(f *fills) { f.invalidateAll() }, g1, false},
		{"another key", func(f *fills) { f.invalidate("other", noGen) }, g1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fills
			tk := f.begin("k")
			tt.events(&f)
			if got := f.end("k", tk, tt.read); got != tt.want {
				t.Fatalf("fill allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRedisDown: with Redis killed, every call returns within a bound of
// the timeout, gets are misses, the L1 keeps serving, and the bypass is
// counted; when Redis is back the subscription returns, the L1 is cleared
// (invalidations may have been missed) and the tier works again.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv, 1<<20)
	ctx := context.Background()
	cached := "GET http://127.0.0.1/cached"
	if err := s.Set(ctx, cached, entry([]byte("kept"), time.Minute)); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	bound := 10 * testTimeout
	timed := func(name string, f func()) {
		t.Helper()
		start := time.Now()
		f()
		if d := time.Since(start); d > bound {
			t.Errorf("%s took %s with Redis down, want under %s", name, d, bound)
		}
	}
	for i := range 20 {
		key := "GET http://127.0.0.1/down/" + string(rune('a'+i))
		timed("get", func() {
			if _, err := s.Get(ctx, key); !errors.Is(err, proxy.ErrNotFound) {
				t.Errorf("get with Redis down = %v, want ErrNotFound", err)
			}
		})
		timed("set", func() {
			if err := s.Set(ctx, key, entry([]byte("x"), time.Minute)); err != nil {
				t.Errorf("set with Redis down = %v, want nil (bypassed)", err)
			}
		})
		timed("delete", func() {
			if err := s.Delete(ctx, key); err == nil {
				t.Error("delete with Redis down succeeded; a purge must say it did not reach the other instances")
			}
		})
		timed("lock", func() { _, _, _ = s.Lock(ctx, key) })
	}
	if e, err := s.Get(ctx, cached); err != nil || string(e.Body) != "kept" {
		t.Fatalf("the L1 stopped serving with Redis down: %v", err)
	}
	st := s.TierStats()
	if st.Bypasses == 0 || st.Failures == 0 {
		t.Fatalf("bypasses %d, failures %d: the outage was not counted", st.Bypasses, st.Failures)
	}
	eventually(t, 5*time.Second, "subscription noticed the outage", func() bool { return !s.Subscribed() })

	srv.Restart()
	eventually(t, 10*time.Second, "subscription restored", s.Subscribed)
	if s.TierStats().Resyncs != 1 {
		t.Fatalf("resyncs = %d, want 1", s.TierStats().Resyncs)
	}
	if _, err := s.l1.Get(ctx, cached); err == nil {
		t.Fatal("the L1 kept an entry across a subscription gap")
	}
	key := "GET http://127.0.0.1/after"
	eventually(t, 5*time.Second, "tier usable again", func() bool {
		_ = s.Set(ctx, key, entry([]byte("back"), time.Minute))
		_ = s.l1.Delete(ctx, key)
		e, err := s.Get(ctx, key)
		return err == nil && string(e.Body) == "back"
	})
}

// TestLock: one instance gets the fetch lock, the other does not and is
// woken when it is released.
func TestLock(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv, 0), open(t, srv, 0)
	ctx := context.Background()
	key := "GET http://127.0.0.1/locked"
	unlock, ok, err := a.Lock(ctx, key)
	if err != nil || !ok {
		t.Fatalf("first lock: ok %v, err %v", ok, err)
	}
	if _, ok, err := b.Lock(ctx, key); err != nil || ok {
		t.Fatalf("second lock: ok %v, err %v; want contended", ok, err)
	}
	done := make(chan bool)
	go func() { done <- b.WaitUnlock(ctx, key) }()
	unlock()
	unlock() // harmless
	if released := <-done; !released {
		t.Fatal("WaitUnlock did not see the release")
	}
	unlock2, ok, err := b.Lock(ctx, key)
	if err != nil || !ok {
		t.Fatalf("lock after release: ok %v, err %v", ok, err)
	}
	unlock2()
	// A holder that never unlocks: the wait ends when the lock expires.
	short, err := Open(srv.URL(0), Options{Timeout: testTimeout, LockTTL: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	if _, ok, err := short.Lock(ctx, key); err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if !short.WaitUnlock(ctx, key) {
		t.Fatal("WaitUnlock gave up before an abandoned lock expired")
	}
}

func TestEncodeRejectsHugeHeader(t *testing.T) {
	e := entry([]byte("x"), time.Minute)
	e.Header = http.Header{"X-Big": {strings.Repeat("a", 8<<10)}}
	if _, err := encode("k", e, randomHex(), 4<<10); !errors.Is(err, errEncode) {
		t.Fatalf("encode of a header over the chunk size = %v, want errEncode", err)
	}
}

// FuzzDecodeMeta: hostile or corrupt values never crash the decoder, and
// what it accepts re-encodes to itself.
func FuzzDecodeMeta(f *testing.F) {
	for _, body := range [][]byte{nil, []byte("hello"), randomBody(5000)} {
		enc, err := encode("GET http://x/", entry(body, time.Minute), "0123456789abcdef", 4<<10)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc.meta)
	}
	f.Add([]byte("SLC\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, h, body, err := decodeMeta(b)
		if err != nil {
			return
		}
		if p.chunks == 0 {
			if _, err := h.entry(body); err != nil {
				return
			}
		}
		if !validGen(p.gen) {
			t.Fatalf("accepted generation %q", p.gen)
		}
	})
}
