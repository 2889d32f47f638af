package proxy

import "github.com/socklab/socklab/internal/errs"

// Validate reports whether New would accept cfg. Its errors wrap
// errs.ErrInvalidConfig.
func (cfg Config) Validate() error {
	if u := cfg.Upstream; u != nil && ((u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		return errs.Invalidf("upstream %q: want http://host:port or https://host:port", u)
	}
	for _, p := range cfg.ConnectPorts {
		if p < 1 || p > 65535 {
			return errs.Invalidf("connect port %d: out of range 1-65535", p)
		}
	}
	if cfg.UpstreamTimeout < 0 || cfg.Grace < 0 || cfg.MaxObjectSize < 0 {
		return errs.Invalidf("upstream timeout, grace and max object size must not be negative")
	}
	return nil
}
