package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// conn is the store's handle on its Redis client: the commands it sends,
// bound to the concrete client (one server or Sentinel's master, or a
// cluster) when it is opened.
//
// The store calls no method through an interface on purpose. The linker
// keeps every method named like one called through an interface on every
// type that is ever held in an interface, and go-redis holds many of its
// own (AutoPipeliner, Tx, Conn, Pipeline, ...): calling Pipeline or Get
// through an interface linked each of their versions, the AutoPipeliner's
// pipeline engine among them. Method values name one method of one type
// (issue 15's size bound: 122 KB of binary, and 47 KB more for the scripts,
// which go-redis' Script.Run calls through its Scripter interface). Only
// the pipeline's Set and Exec still go through go-redis' Pipeliner.
type conn struct {
	evalSha   func(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd
	eval      func(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd
	get       func(ctx context.Context, key string) *redis.StringCmd
	mget      func(ctx context.Context, keys ...string) *redis.SliceCmd
	del       func(ctx context.Context, keys ...string) *redis.IntCmd
	exists    func(ctx context.Context, keys ...string) *redis.IntCmd
	setNX     func(ctx context.Context, key string, value any, expiration time.Duration) *redis.BoolCmd
	ping      func(ctx context.Context) *redis.StatusCmd
	pipeline  func() redis.Pipeliner
	subscribe func(ctx context.Context, channels ...string) *redis.PubSub
	close     func() error
}

// clientConn binds a conn to one server (or Sentinel's master).
func clientConn(c *redis.Client) conn {
	return conn{evalSha: c.EvalSha, eval: c.Eval, get: c.Get, mget: c.MGet, del: c.Del, exists: c.Exists, setNX: c.SetNX,
		ping: c.Ping, pipeline: c.Pipeline, subscribe: c.Subscribe, close: c.Close}
}

// clusterConn binds a conn to a cluster. It repeats clientConn because a
// generic version would call the methods through the type parameter's
// dictionary, which the linker treats as interface calls (see conn).
func clusterConn(c *redis.ClusterClient) conn {
	return conn{evalSha: c.EvalSha, eval: c.Eval, get: c.Get, mget: c.MGet, del: c.Del, exists: c.Exists, setNX: c.SetNX,
		ping: c.Ping, pipeline: c.Pipeline, subscribe: c.Subscribe, close: c.Close}
}

// script is a Lua script, sent as EVALSHA of its SHA-1 and, when the
// server has not cached it yet, as EVAL: what go-redis' Script.Run does,
// without its Scripter interface (see conn).
type script struct{ src, sha string }

func newScript(src string) *script {
	sum := sha1.Sum([]byte(src))
	return &script{src: src, sha: hex.EncodeToString(sum[:])}
}

// run runs sc with keys and args: EVALSHA, then EVAL on NOSCRIPT (the
// server's script cache is empty after a restart or SCRIPT FLUSH).
func (c conn) run(ctx context.Context, sc *script, keys []string, args ...any) *redis.Cmd {
	r := c.evalSha(ctx, sc.sha, keys, args...)
	if err := r.Err(); err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT")) {
		return c.eval(ctx, sc.src, keys, args...)
	}
	return r
}
