package menu

import "github.com/socklab/socklab/internal/errs"

// Validate reports a Config whose defaults make no sense. Its errors wrap
// errs.ErrInvalidConfig. New does not fail: a menu always starts, and
// numbers typed at it are checked as they come.
func (cfg Config) Validate() error {
	if cfg.Clients < 0 || cfg.QoS.Count < 0 || cfg.QoS.Interval < 0 || cfg.QoS.Size < 0 {
		return errs.Invalidf("menu: clients, qos count, interval and size must not be negative")
	}
	return nil
}
