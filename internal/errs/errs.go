// Package errs holds the one error kind that crosses every layer: a
// configuration the engine refuses. Engines return it from Validate (and
// from New, which validates); cli maps it to exit status 2 with
// errors.Is, so the exit code never depends on an error's wording.
package errs

import (
	"errors"
	"fmt"
)

// ErrInvalidConfig is wrapped by every error an engine's Validate returns.
var ErrInvalidConfig = errors.New("invalid configuration")

// invalid keeps the engine's own message (it names the field and the
// rule) while matching ErrInvalidConfig and whatever it wraps.
type invalid struct{ err error }

func (e *invalid) Error() string   { return e.err.Error() }
func (e *invalid) Unwrap() []error { return []error{ErrInvalidConfig, e.err} }

// Invalid marks err as a refused configuration; nil stays nil.
func Invalid(err error) error {
	if err == nil || errors.Is(err, ErrInvalidConfig) {
		return err
	}
	return &invalid{err: err}
}

// Invalidf is Invalid(fmt.Errorf(format, args...)).
func Invalidf(format string, args ...any) error {
	return &invalid{err: fmt.Errorf(format, args...)}
}
