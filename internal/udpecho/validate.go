package udpecho

import "github.com/socklab/socklab/internal/errs"

// Validate reports whether New would accept cfg. Its errors wrap
// errs.ErrInvalidConfig.
func (cfg Config) Validate() error {
	if cfg.Workers < 0 {
		return errs.Invalidf("workers %d: must not be negative", cfg.Workers)
	}
	if cfg.MaxSources < 0 || cfg.MaxSessions < 0 {
		return errs.Invalidf("max sources %d, max sessions %d: must not be negative", cfg.MaxSources, cfg.MaxSessions)
	}
	return nil
}
