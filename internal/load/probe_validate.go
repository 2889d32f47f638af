package load

import "github.com/socklab/socklab/internal/errs"

// Validate reports whether NewProber would accept cfg. Its errors wrap
// errs.ErrInvalidConfig.
func (cfg ProbeConfig) Validate() error {
	if _, err := parseHTTPTarget(cfg.URL); err != nil {
		return errs.Invalidf("get: %w", err)
	}
	if cfg.Proxy != "" && cfg.Transport == nil {
		if _, err := ParseProxy(cfg.Proxy); err != nil {
			return errs.Invalidf("get: %w", err)
		}
	}
	if cfg.Timeout < 0 {
		return errs.Invalidf("get: timeout %s: must not be negative", cfg.Timeout)
	}
	return nil
}
