package cli

import (
	"math/rand/v2"
	"time"

	"github.com/spf13/pflag"

	"github.com/socklab/socklab/internal/flagx"
	"github.com/socklab/socklab/internal/impair"
	"github.com/socklab/socklab/internal/stack"
	"github.com/socklab/socklab/internal/units"
)

// relayLongHelp explains the UDP relay and impairment flags; the proxy
// command's long help can include it.
const relayLongHelp = `UDP relay: datagrams arriving on --udp go to --udp-upstream, each client
address through its own upstream socket (a session), so replies return to the
client that asked. Sessions end after --udp-idle without traffic; at most
--udp-max-sessions exist at once: a new client then takes the place of the
oldest session that has not held a two-way conversation (a reply came back
and the client spoke again, which a spoofed source cannot do), and only when
every session has is it dropped and counted.

Impairment (like netem, done by socklab itself): --delay, --jitter, --loss,
--loss-burst, --duplicate, --reorder, --corrupt and --rate apply per datagram
on the UDP relay, in the --direction(s) asked (both by default, like a
symmetric link: a round trip sees them twice). On proxied TCP streams (HTTP and
CONNECT) only --delay, --jitter and --rate apply, per chunk and per connection:
loss, duplicates and corruption would only make TCP retransmit. --seed makes
every random decision reproducible.`

// relayFlags are the UDP relay and impairment flags of "socklab proxy".
type relayFlags struct {
	udp, upstream string
	idle          time.Duration
	maxSessions   int

	delay, jitter             time.Duration
	jitterDist                string
	loss, duplicate, reorder  string
	corrupt, rate, queue, dir string
	lossBurst                 float64
	seed                      uint64
}

// addRelayFlags registers the UDP relay and impairment flags on fs.
func addRelayFlags(fs *pflag.FlagSet, f *relayFlags) {
	fs.StringVar(&f.udp, "udp", "127.0.0.1:9090", `UDP relay listen address ("off" or "" turns the relay off)`)
	fs.StringVar(&f.upstream, "udp-upstream", "127.0.0.1:9000", "where the UDP relay sends datagrams")
	fs.DurationVar(&f.idle, "udp-idle", 60*time.Second, "end a UDP session after this long without traffic")
	fs.IntVar(&f.maxSessions, "udp-max-sessions", 10000, "most UDP sessions (client addresses) at once; at the cap the oldest one-sided session makes room, else datagrams from more clients are dropped")
	fs.DurationVar(&f.delay, "delay", 0, "add this delay to every datagram and every TCP chunk, per direction (e.g. 20ms)")
	fs.DurationVar(&f.jitter, "jitter", 0, "vary the delay by up to this much; order is kept unless --reorder (e.g. 5ms)")
	fs.StringVar(&f.jitterDist, "jitter-dist", "uniform", "jitter distribution: uniform (±jitter) or normal (jitter = standard deviation)")
	fs.StringVar(&f.loss, "loss", "0%", "drop this share of UDP datagrams (e.g. 2%; not TCP: it would retransmit)")
	fs.Float64Var(&f.lossBurst, "loss-burst", 0, "mean length of loss bursts (Gilbert–Elliott); 0 drops datagrams independently")
	fs.StringVar(&f.duplicate, "duplicate", "0%", "send this share of UDP datagrams twice (not TCP)")
	fs.StringVar(&f.reorder, "reorder", "0%", "let this share of UDP datagrams skip the --delay and overtake earlier ones (needs --delay; not TCP)")
	fs.StringVar(&f.corrupt, "corrupt", "0%", "flip one random bit in this share of UDP datagrams (not TCP)")
	fs.StringVar(&f.rate, "rate", "", "limit each direction to this bit rate with a token bucket (e.g. 10M, 512kbit); TCP connections each get it")
	fs.StringVar(&f.queue, "queue", "", "bytes that may wait for --rate before datagrams are dropped (e.g. 64KiB; default: 100 ms at the rate, at least 64KiB)")
	fs.StringVar(&f.dir, "direction", "both", "impaired direction: up (client to upstream), down (replies) or both")
	fs.Uint64Var(&f.seed, "seed", 0, "seed for every random decision, to reproduce a run (0: a random seed, logged)")
}

// impairConfig turns the flags into the impairment policy's Config.
func (f *relayFlags) impairConfig() (impair.Config, error) {
	cfg := impair.Config{Delay: f.delay, Jitter: f.jitter, LossBurst: f.lossBurst, Seed: f.seed}
	var err error
	if cfg.JitterDist, err = impair.ParseDist(f.jitterDist); err != nil {
		return cfg, usageErrf("--jitter-dist: %w", err)
	}
	if cfg.Direction, err = impair.ParseDirection(f.dir); err != nil {
		return cfg, usageErrf("--direction: %w", err)
	}
	for _, p := range []struct {
		flag, val string
		dst       *float64
	}{{"loss", f.loss, &cfg.Loss}, {"duplicate", f.duplicate, &cfg.Duplicate}, {"reorder", f.reorder, &cfg.Reorder}, {"corrupt", f.corrupt, &cfg.Corrupt}} {
		if *p.dst, err = units.ParsePercent(p.val); err != nil {
			return cfg, usageErrf("--%s: %w", p.flag, err)
		}
	}
	if f.rate != "" {
		if cfg.Rate, err = units.ParseBitrate(f.rate); err != nil {
			return cfg, usageErrf("--rate: %w", err)
		}
	}
	if f.queue != "" {
		if cfg.QueueLimit, err = units.ParseSize(f.queue); err != nil {
			return cfg, usageErrf("--queue: %w", err)
		}
		if cfg.QueueLimit == 0 {
			return cfg, usageErrf("--queue: must be at least one byte")
		}
	}
	if f.idle <= 0 {
		return cfg, usageErrf("--udp-idle %v: must be positive", f.idle)
	}
	if f.maxSessions < 1 {
		return cfg, usageErrf("--udp-max-sessions %d: must be at least 1", f.maxSessions)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageErrf("impairment: %w", err)
	}
	if cfg.Seed == 0 && cfg.Active() {
		cfg.Seed = rand.Uint64()
	}
	return cfg, nil
}

// config validates the flags into the relay's Config, drawing a seed for
// an active impairment that was given none.
func (f *relayFlags) config() (stack.RelayConfig, error) {
	if f.udp != "" {
		if err := flagx.CheckListenAddr("--udp", f.udp); err != nil {
			return stack.RelayConfig{}, err
		}
	}
	imp, err := f.impairConfig()
	return stack.RelayConfig{UDP: f.udp, Upstream: f.upstream, Idle: f.idle, MaxSessions: f.maxSessions, Impair: imp}, err
}
