package stack

import (
	"fmt"
	"log/slog"

	"github.com/socklab/socklab/internal/proxy"
	"github.com/socklab/socklab/internal/proxy/redisstore"
)

// StoreConfig names the proxy's cache store.
type StoreConfig struct {
	// Spec is proxy.StoreMemory ("" too), or a Redis URL (redis://,
	// rediss://, redis-cluster://, redis-sentinel://) for the shared tier.
	Spec string
	// Size bounds the memory store; 0 turns caching off.
	Size int64
	// Shared configures the Redis tier (its L1, chunk size, timeout);
	// the stack sets the Logger.
	Shared redisstore.Options
	// Coalesce makes concurrent misses on every proxy sharing a Redis
	// store one upstream request.
	Coalesce bool
}

// IsShared reports whether Spec names the shared Redis tier.
func (c StoreConfig) IsShared() bool { return redisstore.IsURL(c.Spec) }

// openStore opens the cache store cfg names, nil when Size is 0. memBound
// is what the store keeps in process memory, for the memory limit.
func openStore(cfg StoreConfig, log *slog.Logger) (store proxy.Store, memBound int64, err error) {
	if cfg.Size <= 0 {
		return nil, 0, nil
	}
	if cfg.IsShared() {
		opts := cfg.Shared
		opts.Logger = log
		t, err := redisstore.Open(cfg.Spec, opts)
		if err != nil {
			return nil, 0, &FieldError{"Store.Spec", err}
		}
		return t, opts.L1Bytes, nil
	}
	if cfg.Spec != "" && cfg.Spec != proxy.StoreMemory {
		return nil, 0, &FieldError{"Store.Spec", fmt.Errorf("%q: unknown store (want %q or redis://HOST:PORT/DB)", cfg.Spec, proxy.StoreMemory)}
	}
	if store, err = proxy.NewMemoryStore(cfg.Size); err != nil {
		return nil, 0, &FieldError{"Store.Size", err}
	}
	return store, cfg.Size, nil
}

// sharedTierStats is the tier's part of /_socklab/stats, nil for other
// stores.
func sharedTierStats(s proxy.Store) *redisstore.Stats {
	t, ok := s.(*redisstore.Tiered)
	if !ok {
		return nil
	}
	st := t.TierStats()
	return &st
}

// storeName is the store for the startup log line: a Redis URL without
// its credentials.
func storeName(spec string, s proxy.Store) string {
	if st := sharedTierStats(s); st != nil {
		return st.Redis
	}
	return spec
}
