// Package redisstore is socklab's shared cache tier (issue 9): several
// `socklab proxy` instances keep one cache in Redis. Remote is the Redis
// tier alone, a proxy.Store; Tiered puts a memory store in front of it as
// an L1 and keeps every instance's L1 coherent through pub/sub
// invalidation.
//
// Redis is an accelerator, never a dependency: every call is bounded by
// Options.Timeout, and when Redis fails or is slow the tier is bypassed (a
// rate-limited warning, a counter) so requests go on with the L1 and the
// origin.
//
// Layout in Redis (see codec.go for the value format): an entry's meta
// value under <prefix>m:<hash>, its body chunks, when it has any, under
// <prefix>c:<hash>:<generation>:<i>. Chunks are written first under a
// fresh generation and the meta value last, in one atomic script, so a
// reader sees the old entry or the whole new one, never a half-written
// one; a replaced generation's chunks are deleted, and anything left
// behind expires with its TTL. <hash> starts with a Redis Cluster hash tag
// ({...}) shared by every key of one object, so on a cluster (or behind
// Sentinel: redis-cluster://, redis-sentinel://) all of them live in one
// slot and the scripts stay atomic; pub/sub reaches every node of a cluster.
package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socklab/socklab/internal/proxy"
)

// Defaults for zero Options fields.
const (
	DefaultChunkSize  = 1 << 20
	DefaultTimeout    = 50 * time.Millisecond
	DefaultMaxTTL     = 24 * time.Hour
	DefaultPrefix     = "socklab:cache:"
	DefaultRetryAfter = time.Second
	DefaultWarnEvery  = 10 * time.Second
	DefaultLockTTL    = 3 * time.Second
	MinChunkSize      = 1 << 10
	// chunkGrace keeps chunks a little longer than their meta value, so
	// a meta value never outlives the chunks it names.
	chunkGrace = 10 * time.Second
)

// Options configure the tier. The zero value (with a URL) is a tier with
// the defaults above.
type Options struct {
	// ChunkSize is the largest value written to Redis; bodies that do not
	// fit beside their header are split. Zero: DefaultChunkSize.
	ChunkSize int
	// Timeout bounds each store call's Redis work. Zero: DefaultTimeout.
	Timeout time.Duration
	// MaxTTL caps the Redis TTL, and is the TTL of entries that set none
	// (Entry.StoreUntil zero, e.g. Vary markers). Zero: DefaultMaxTTL.
	MaxTTL time.Duration
	// Prefix starts every key and the pub/sub channel, so several caches
	// can share one database. Empty: DefaultPrefix.
	Prefix string
	// RetryAfter is how long the tier is bypassed after a connection error
	// or timeout. Zero: DefaultRetryAfter.
	RetryAfter time.Duration
	// WarnEvery rate-limits the bypass warning. Zero: DefaultWarnEvery.
	WarnEvery time.Duration
	// LockTTL is how long a cross-instance fetch lock lives if its holder
	// never releases it. Zero: DefaultLockTTL.
	LockTTL time.Duration
	// L1Bytes bounds Tiered's memory L1. Zero: no L1 (every Get goes to
	// Redis). Remote ignores it.
	L1Bytes int64
	// Logger receives the (rate-limited) bypass warnings and reconnects.
	// Nil: discarded.
	Logger *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxTTL <= 0 {
		o.MaxTTL = DefaultMaxTTL
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.WarnEvery <= 0 {
		o.WarnEvery = DefaultWarnEvery
	}
	if o.LockTTL <= 0 {
		o.LockTTL = DefaultLockTTL
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Remote is a proxy.Store whose entries live in Redis.
type Remote struct {
	rdb      conn
	opts     Options
	g        *guard
	instance string // names this process in pub/sub messages
	channel  string
	url      string // for messages, without a password

	hits, misses         atomic.Uint64
	incomplete, corrupt  atomic.Uint64
	stores, deletes      atomic.Uint64
	bytesRead, bytesSent atomic.Uint64
	published            atomic.Uint64
	lockWon, lockLost    atomic.Uint64
}

var _ proxy.Store = (*Remote)(nil)

// NewRemote connects to the Redis named by rawURL: one server
// (redis://[:password@]host:port/db, rediss:// for TLS), a Redis Cluster
// (redis-cluster://host:port,host:port,... any of its nodes) or a master
// found through Sentinel (redis-sentinel://master@host:port,.../db). It
// does not wait for Redis: an unreachable server is bypassed like one that
// fails later.
//
// Every wait is bounded by the tier's timeout: dialing, waiting for a
// pooled connection, reading and writing; no retries, which would multiply
// it (a cluster's MOVED and ASK redirects still follow). ContextTimeoutEnabled
// makes go-redis honour the per-call deadline rather than only its own.
func NewRemote(rawURL string, opts Options) (*Remote, error) {
	opts = opts.withDefaults()
	if opts.ChunkSize < MinChunkSize {
		return nil, fmt.Errorf("cache store chunk size %d: want at least %d bytes", opts.ChunkSize, MinChunkSize)
	}
	quietRedis.Do(func() { redis.SetLogger(discardLogger{}) })
	rdb, name, err := newClient(rawURL, opts.Timeout)
	if err != nil {
		return nil, err
	}
	r := &Remote{
		rdb:      rdb,
		opts:     opts,
		g:        &guard{timeout: opts.Timeout, retryAfter: opts.RetryAfter, warnEvery: opts.WarnEvery, log: opts.Logger, now: opts.Now},
		instance: randomHex(),
		channel:  opts.Prefix + "invalidate",
		url:      name,
	}
	return r, nil
}

// quietRedis silences go-redis's own logger (process-wide; socklab has no
// other go-redis user): it prints every failed dial to stderr, while the
// tier reports failures itself, rate-limited, on Options.Logger.
var quietRedis sync.Once

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

// randomHex is 16 hex digits from crypto/rand: generations, lock tokens,
// instance ids.
func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hash names key's Redis keys: a hash of the whole key, after a Redis
// Cluster hash tag made from the object's primary key (the part before the
// first NUL: the proxy's Vary variants are primary NUL id NUL secondary).
// Every key of one cached object, its meta value, chunks, lock, and its
// Vary marker and variants, so lands in one hash slot: the scripts that
// write the meta value and publish stay single-slot (atomic) on a cluster,
// and MGET of the chunks is legal there.
func (s *Remote) hash(key string) string {
	primary, _, _ := strings.Cut(key, "\x00")
	tag := sha256.Sum256([]byte(primary))
	sum := sha256.Sum256([]byte(key))
	return "{" + hex.EncodeToString(tag[:6]) + "}" + hex.EncodeToString(sum[:16])
}

func (s *Remote) metaKey(h string) string { return s.opts.Prefix + "m:" + h }
func (s *Remote) lockKey(h string) string { return s.opts.Prefix + "l:" + h }
func (s *Remote) chunkKeys(h string, p prefix) []string {
	keys := make([]string, p.chunks)
	for i := range keys {
		keys[i] = s.opts.Prefix + "c:" + h + ":" + p.gen + ":" + strconv.Itoa(i)
	}
	return keys
}

// Message kinds on the channel: the first byte, then the sender's
// instance id, then the cache key.
const (
	msgInvalidate = 'i'
	msgUnlock     = 'u'
)

// noGen stands for "no generation" (a delete, an unlock) in messages.
const noGen = "0000000000000000"

// message is kind, the sender's instance id, the generation now stored
// (noGen for none) and the key.
func (s *Remote) message(kind byte, gen, key string) string {
	return string(kind) + s.instance + gen + key
}

// parseMessage splits a channel message; ok is false for a foreign one.
func parseMessage(payload string) (kind byte, instance, gen, key string, ok bool) {
	if len(payload) < 1+2*genLen || (payload[0] != msgInvalidate && payload[0] != msgUnlock) {
		return 0, "", "", "", false
	}
	return payload[0], payload[1 : 1+genLen], payload[1+genLen : 1+2*genLen], payload[1+2*genLen:], true
}

// Scripts. Each runs atomically in Redis: the meta value is replaced (or
// removed) and the change published in one step, and the old value's
// fixed prefix returned so its chunks can be deleted.
var (
	setMeta = sync.OnceValue(func() *script {
		return newScript(`
local old = redis.call('GETRANGE', KEYS[1], 0, 23)
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return old`)
	})
	delMeta = sync.OnceValue(func() *script {
		return newScript(`
local old = redis.call('GETRANGE', KEYS[1], 0, 23)
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return old`)
	})
	unlockScript = newScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`)
)

// Get returns the entry under key: proxy.ErrNotFound when Redis has none
// or only an incomplete or corrupt one, ErrUnavailable (wrapped) while the
// tier is bypassed, or the Redis error.
func (s *Remote) Get(ctx context.Context, key string) (*proxy.Entry, error) {
	e, _, err := s.get(ctx, key)
	return e, err
}

// get is Get, also returning the generation read.
func (s *Remote) get(ctx context.Context, key string) (*proxy.Entry, string, error) {
	e, p, err := s.getPrefix(ctx, key)
	return e, p.gen, err
}

func (s *Remote) getPrefix(ctx context.Context, key string) (*proxy.Entry, prefix, error) {
	var none prefix
	if !s.g.allow() {
		return nil, none, fmt.Errorf("redis get: %w", ErrUnavailable)
	}
	parent := ctx
	ctx, cancel := s.g.bound(ctx)
	defer cancel()
	h := s.hash(key)
	b, err := s.rdb.get(ctx, s.metaKey(h)).Bytes()
	if errors.Is(err, redis.Nil) {
		s.misses.Add(1)
		return nil, none, proxy.ErrNotFound
	}
	if err != nil {
		return nil, none, s.g.fail(parent, "get", fmt.Errorf("redis get %s: %w", s.url, err))
	}
	p, mh, body, err := decodeMeta(b)
	if err != nil || mh.Key != key {
		// Corrupt, another format version, or a hash collision: a miss.
		s.corrupt.Add(1)
		s.misses.Add(1)
		return nil, none, proxy.ErrNotFound
	}
	s.bytesRead.Add(uint64(len(b)))
	if p.chunks > 0 {
		vals, err := s.rdb.mget(ctx, s.chunkKeys(h, p)...).Result()
		if err != nil {
			return nil, none, s.g.fail(parent, "get chunks", fmt.Errorf("redis mget %s: %w", s.url, err))
		}
		body = make([]byte, 0, mh.BodyLen)
		for _, v := range vals {
			c, ok := v.(string)
			if !ok {
				// A chunk expired or was evicted: never serve part of a body.
				s.incomplete.Add(1)
				s.misses.Add(1)
				return nil, none, proxy.ErrNotFound
			}
			body = append(body, c...)
		}
		s.bytesRead.Add(uint64(len(body)))
	}
	e, err := mh.entry(body)
	if err != nil {
		s.corrupt.Add(1)
		s.misses.Add(1)
		return nil, none, proxy.ErrNotFound
	}
	s.hits.Add(1)
	return e, p, nil
}

// ttl is how long Redis keeps e: until its StoreUntil (freshness plus the
// stale windows, set by the proxy), capped by MaxTTL; 0 when already past.
func (s *Remote) ttl(e *proxy.Entry) time.Duration {
	if e.StoreUntil.IsZero() {
		return s.opts.MaxTTL
	}
	d := e.StoreUntil.Sub(s.opts.Now())
	if d < time.Millisecond {
		return 0
	}
	return min(d, s.opts.MaxTTL)
}

// Set writes e under key: chunks first under a new generation, then the
// meta value and the invalidation message in one script, then the old
// generation's chunks are deleted. An entry already past its StoreUntil is
// not written (and the old one is left to expire).
func (s *Remote) Set(ctx context.Context, key string, e *proxy.Entry) error {
	ttl := s.ttl(e)
	if ttl == 0 {
		return nil
	}
	h := s.hash(key)
	gen := randomHex()
	enc, err := encode(key, e, gen, s.opts.ChunkSize)
	if err != nil {
		return err
	}
	if !s.g.allow() {
		return fmt.Errorf("redis set: %w", ErrUnavailable)
	}
	parent := ctx
	ctx, cancel := s.g.bound(ctx)
	defer cancel()
	if len(enc.chunks) > 0 {
		keys := s.chunkKeys(h, prefix{gen: gen, chunks: len(enc.chunks)})
		pipe := s.rdb.pipeline()
		for i, c := range enc.chunks {
			pipe.Set(ctx, keys[i], c, ttl+chunkGrace)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return s.g.fail(parent, "set chunks", fmt.Errorf("redis set chunks %s: %w", s.url, err))
		}
	}
	old, err := s.rdb.run(ctx, setMeta(), []string{s.metaKey(h)}, enc.meta, max(ttl.Milliseconds(), 1), s.channel, s.message(msgInvalidate, gen, key)).Text()
	if err != nil {
		// The chunks written are unreachable and expire with their TTL.
		return s.g.fail(parent, "set", fmt.Errorf("redis set %s: %w", s.url, err))
	}
	s.stores.Add(1)
	s.published.Add(1)
	s.bytesSent.Add(uint64(len(enc.meta)) + uint64(len(e.Body)))
	s.dropChunks(ctx, h, old, gen)
	return nil
}

// dropChunks deletes the chunks of a replaced or deleted meta value whose
// prefix is old; failures are left to the chunks' TTL.
func (s *Remote) dropChunks(ctx context.Context, h, old, except string) {
	p, ok := parsePrefix([]byte(old))
	if !ok || p.chunks == 0 || p.gen == except {
		return
	}
	_ = s.rdb.del(ctx, s.chunkKeys(h, p)...).Err()
}

// Delete removes key and publishes the invalidation to every instance.
func (s *Remote) Delete(ctx context.Context, key string) error {
	if !s.g.allow() {
		return fmt.Errorf("redis delete: %w", ErrUnavailable)
	}
	parent := ctx
	ctx, cancel := s.g.bound(ctx)
	defer cancel()
	h := s.hash(key)
	old, err := s.rdb.run(ctx, delMeta(), []string{s.metaKey(h)}, s.channel, s.message(msgInvalidate, noGen, key)).Text()
	if err != nil {
		return s.g.fail(parent, "delete", fmt.Errorf("redis delete %s: %w", s.url, err))
	}
	s.deletes.Add(1)
	s.published.Add(1)
	s.dropChunks(ctx, h, old, "")
	return nil
}

// Lock claims the upstream fetch of key across instances with a
// short-lived Redis lock (SET NX PX LockTTL). ok is false when another
// instance holds it. unlock releases the lock if still ours and tells
// waiting instances (see Tiered.WaitUnlock); it is bounded by the timeout
// and safe to call more than once. On error the caller should simply
// fetch (no lock is held).
func (s *Remote) Lock(ctx context.Context, key string) (unlock func(), ok bool, err error) {
	if !s.g.allow() {
		return nil, false, fmt.Errorf("redis lock: %w", ErrUnavailable)
	}
	parent := ctx
	ctx, cancel := s.g.bound(ctx)
	defer cancel()
	lk := s.lockKey(s.hash(key))
	token := randomHex()
	ok, err = s.rdb.setNX(ctx, lk, token, s.opts.LockTTL).Result()
	if err != nil {
		return nil, false, s.g.fail(parent, "lock", fmt.Errorf("redis lock %s: %w", s.url, err))
	}
	if !ok {
		s.lockLost.Add(1)
		return nil, false, nil
	}
	s.lockWon.Add(1)
	var once atomic.Bool
	return func() {
		if !once.CompareAndSwap(false, true) {
			return
		}
		// The request that held the lock may be gone; unlocking must
		// still happen, within the tier's timeout.
		ctx, cancel := s.g.bound(context.WithoutCancel(parent))
		defer cancel()
		if err := s.rdb.run(ctx, unlockScript, []string{lk}, token, s.channel, s.message(msgUnlock, noGen, key)).Err(); err != nil {
			_ = s.g.fail(ctx, "unlock", fmt.Errorf("redis unlock %s: %w", s.url, err))
		}
	}, true, nil
}

// locked reports whether key's fetch lock is held (WaitUnlock's poll, for
// a holder that died without unlocking).
func (s *Remote) locked(ctx context.Context, key string) (bool, error) {
	if !s.g.allow() {
		return false, ErrUnavailable
	}
	parent := ctx
	ctx, cancel := s.g.bound(ctx)
	defer cancel()
	n, err := s.rdb.exists(ctx, s.lockKey(s.hash(key))).Result()
	if err != nil {
		return false, s.g.fail(parent, "lock check", err)
	}
	return n > 0, nil
}

// Ping checks Redis within the timeout.
func (s *Remote) Ping(ctx context.Context) error {
	ctx, cancel := s.g.bound(ctx)
	defer cancel()
	if err := s.rdb.ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping %s: %w", s.url, err)
	}
	return nil
}

// Stats reports what this instance knows without asking Redis: nothing
// about objects and bytes (Tiered adds its L1's; TierStats has the Redis
// counters).
func (s *Remote) Stats() proxy.StoreStats { return proxy.StoreStats{} }

// Close closes the connections.
func (s *Remote) Close() error { return s.rdb.close() }
