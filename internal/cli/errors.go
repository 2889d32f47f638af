package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/errs"
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

// exitCode picks the exit status of a failed command from the error's
// kind, never its wording: usage errors made here, cobra's flag and
// argument errors (wrapped by the root's FlagErrorFunc and by
// wrapArgs) and any engine configuration refused by Validate exit 2;
// everything else is a runtime failure.
func exitCode(err error) int {
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errs.ErrInvalidConfig):
		return ExitUsage
	}
	return ExitFailure
}

// wrapArgs makes every positional-argument error of cmd and its children
// a usage error. Cobra returns them as plain errors.
func wrapArgs(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usageErr(err)
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		wrapArgs(c)
	}
}

// rootArgs refuses an unknown subcommand as cobra does for a root without
// Args (with its suggestions), but as a usage error.
func rootArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return usageErr(errors.New(msg))
}
