package cli

import (
	"errors"
	"fmt"
	"strings"
)

// exitError carries an explicit exit code out of a command. A nil err means
// the command already said what it had to (ping with no replies, say).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as the user's mistake: exit code 2.
func usageErr(err error) error { return &exitError{code: ExitUsage, err: err} }

// usageErrf is usageErr with formatting.
func usageErrf(format string, args ...any) error { return usageErr(fmt.Errorf(format, args...)) }

// silentExit ends the command with code and prints nothing more.
func silentExit(code int) error { return &exitError{code: code} }

// isUsageError recognises cobra's own argument errors, which it returns as
// plain errors.
func isUsageError(err error) bool {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code == ExitUsage
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
