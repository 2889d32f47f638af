package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/socklab/socklab/internal/proxy/redisstore"
	"github.com/socklab/socklab/internal/units"
)

// sharedTierFlags configure the shared cache tier, --cache-store
// redis://HOST:PORT/DB (issue 9).
type sharedTierFlags struct {
	l1Size   string
	chunk    string
	timeout  time.Duration
	coalesce bool
}

const sharedTierLongHelp = `
Shared cache (--cache-store redis://HOST:PORT/DB): several proxies behind a
load balancer keep one cache in Redis, with a memory L1 in each
(--l1-size). A purge or a new version on one proxy reaches every other
one's L1 through Redis pub/sub. Bodies over --cache-store-chunk are split
across keys and an entry becomes visible only once complete. Redis down or
slower than --cache-store-timeout: the proxy keeps serving from its L1 and
the origin, logs a (rate-limited) warning and counts the bypass;
/_socklab/stats shows the tier under "shared_tier". --coalesce-shared makes
concurrent misses on all the proxies one upstream request.
A Redis Cluster: --cache-store redis-cluster://HOST:PORT,HOST:PORT,... (any
nodes; every key of one object shares a hash slot). Sentinel:
--cache-store redis-sentinel://MASTER@HOST:PORT,HOST:PORT,.../DB.

`

func addSharedTierFlags(fl *pflag.FlagSet, f *sharedTierFlags) {
	fl.StringVar(&f.l1Size, "l1-size", "64MiB", `with --cache-store redis://: the memory L1 in front of Redis ("0": none, every lookup asks Redis)`)
	fl.StringVar(&f.chunk, "cache-store-chunk", "1MiB", "with --cache-store redis://: largest value written to Redis; larger bodies are split into chunks")
	fl.DurationVar(&f.timeout, "cache-store-timeout", redisstore.DefaultTimeout, "with --cache-store redis://: longest a request waits on Redis; when slower or down the shared tier is bypassed")
	fl.BoolVar(&f.coalesce, "coalesce-shared", false, "with --cache-store redis://: concurrent misses across every proxy sharing the store make one upstream request (a short Redis lock)")
}

// options validates the shared tier's flags into the Redis tier's Options.
func (f sharedTierFlags) options() (redisstore.Options, error) {
	l1, err := units.ParseSize(f.l1Size)
	if err != nil || l1 < 0 {
		return redisstore.Options{}, usageErrf("--l1-size %q: want a size like 64MiB, or 0", f.l1Size)
	}
	chunk, err := units.ParseSize(f.chunk)
	if err != nil || chunk < redisstore.MinChunkSize || chunk > 512<<20 {
		return redisstore.Options{}, usageErrf("--cache-store-chunk %q: want a size from 1KiB to 512MiB", f.chunk)
	}
	if f.timeout <= 0 {
		return redisstore.Options{}, usageErrf("--cache-store-timeout must be positive, not %s", f.timeout)
	}
	return redisstore.Options{ChunkSize: int(chunk), Timeout: f.timeout, L1Bytes: l1}, nil
}
