package webserver

import "github.com/socklab/socklab/internal/errs"

// Validate reports whether New would accept cfg's values (New also needs
// Root to be a folder it can open). Its errors wrap errs.ErrInvalidConfig.
func (cfg Config) Validate() error {
	switch {
	case cfg.Root != "" && cfg.FS != nil:
		return errs.Invalidf("web root %s and an fs.FS: give one", cfg.Root)
	case cfg.ReadHeaderTimeout < 0 || cfg.IdleTimeout < 0 || cfg.Grace < 0:
		return errs.Invalidf("read-header timeout, idle timeout and grace must not be negative")
	case cfg.MaxHeaderBytes < 0:
		return errs.Invalidf("max header bytes %d: must not be negative", cfg.MaxHeaderBytes)
	}
	return nil
}
