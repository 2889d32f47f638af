// Package stack builds the long-running services socklab runs, from the
// engines' configs: "serve" (the web server and the UDP reflector) and
// "proxy" (the caching proxy, its cache store, the impairing UDP relay),
// with their side listeners (metrics, admin), their access logs, and the
// one supervisor (Group) they run under. The serve and proxy commands and
// the demo all build through it, so a new setting reaches every one of
// them. It speaks in the engines' terms: cli turns flags into these
// configs and names the flag when a value is refused (FieldError).
package stack

import "github.com/socklab/socklab/internal/errs"

// FieldError is a value of a Config the stack refused when it came to
// use it (an unknown cache store, a relay address that does not
// resolve), named by its field ("Store.Spec", "Relay.UDP"). It matches
// errs.ErrInvalidConfig, so it exits 2; cli adds the flag's name.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string   { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() []error { return []error{e.Err, errs.ErrInvalidConfig} }
