package udprelay

import (
	"fmt"
	"net"

	"github.com/socklab/socklab/internal/errs"
)

// Validate reports whether New would accept cfg. Its errors wrap
// errs.ErrInvalidConfig.
func (cfg Config) Validate() error {
	if err := cfg.Impair.Validate(); err != nil {
		return fmt.Errorf("impairment: %w", err)
	}
	if cfg.IdleTimeout < 0 || cfg.MaxSessions < 0 || cfg.MaxQueued < 0 || cfg.MaxQueuedBytes < 0 || cfg.SocketBuffer < 0 {
		return errs.Invalidf("idle timeout, sessions, queue and socket buffer must not be negative")
	}
	if cfg.Upstream != "" {
		if _, _, err := net.SplitHostPort(cfg.Upstream); err != nil {
			return errs.Invalidf("udp upstream %q: want host:port", cfg.Upstream)
		}
	}
	return nil
}
