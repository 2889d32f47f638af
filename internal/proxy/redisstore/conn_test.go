package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socklab/socklab/internal/proxy/redisstore/redistest"
)

// TestScriptRun runs a script on a real Redis that has not seen it
// (EVALSHA answers NOSCRIPT, EVAL runs it), again (EVALSHA runs it), and
// after SCRIPT FLUSH (NOSCRIPT again), checking each result and what the
// server's script cache holds.
func TestScriptRun(t *testing.T) {
	srv := redistest.Start(t)
	c := clientConn(redis.NewClient(&redis.Options{Addr: srv.Addr()}))
	t.Cleanup(func() { _ = c.close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sc := newScript(`redis.call('INCRBY', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])`)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	cached := func() bool {
		t.Helper()
		got, err := rdb.ScriptExists(ctx, sc.sha).Result()
		if err != nil {
			t.Fatalf("script exists: %v", err)
		}
		return got[0]
	}
	for i, step := range []struct {
		flush bool
		want  string
	}{{false, "2"}, {false, "4"}, {true, "6"}} {
		if step.flush {
			if err := rdb.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if i == 0 || step.flush {
			if cached() {
				t.Fatalf("step %d: the script is cached before it runs", i)
			}
		}
		got, err := c.run(ctx, sc, []string{"n"}, 2).Text()
		if err != nil || got != step.want {
			t.Fatalf("step %d: run = %q, %v; want %q", i, got, err, step.want)
		}
		if !cached() {
			t.Fatalf("step %d: the script is not cached after it ran", i)
		}
	}
}
