// Package flagx holds socklab's flag types and the parsing of flag values
// that is not cobra wiring: durations that take bare seconds, readable
// errors for bad values, listen addresses, CIDR lists, field names. Its
// errors name the flag and wrap errs.ErrInvalidConfig, so they exit 2.
package flagx

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/socklab/socklab/internal/units"
)

// SecondsDuration is a duration flag that also takes a bare number of
// seconds ("-t 10", "-i 0.2", "-m 5"), as iperf3, ping and curl do; Go's
// forms ("10s", "200ms") keep working.
type SecondsDuration struct{ pflag.Value }

func (v SecondsDuration) Set(s string) error {
	d, err := units.ParseDuration(s)
	if err != nil {
		return err
	}
	return v.Value.Set(d.String())
}

// AcceptBareSeconds makes every duration flag of cmd and its subcommands a
// SecondsDuration, so no command can forget to.
func AcceptBareSeconds(cmd *cobra.Command) {
	wrap := func(f *pflag.Flag) {
		if _, done := f.Value.(SecondsDuration); !done && f.Value.Type() == "duration" {
			f.Value = SecondsDuration{f.Value}
			if f.DefValue == "0s" {
				f.DefValue = "0" // what pflag's help takes for "no default"
			}
		}
	}
	cmd.Flags().VisitAll(wrap)
	cmd.PersistentFlags().VisitAll(wrap)
	for _, c := range cmd.Commands() {
		AcceptBareSeconds(c)
	}
}

// PlainError rewrites pflag's "invalid argument" error, which quotes
// strconv ("strconv.ParseUint: parsing "-1": invalid syntax"), into what
// the flag wants: "--seed -1: want a whole number, 0 or more".
func PlainError(err error) error {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) {
		return err
	}
	name := "--" + ive.GetFlag().Name
	var ne *strconv.NumError
	if !errors.As(ive, &ne) {
		return fmt.Errorf("%s: %w", name, errors.Unwrap(ive))
	}
	want := "a number"
	switch typ := ive.GetFlag().Value.Type(); {
	case errors.Is(ne.Err, strconv.ErrRange):
		want = "a smaller number"
	case strings.HasPrefix(typ, "uint"):
		want = "a whole number, 0 or more"
	case strings.HasPrefix(typ, "int"):
		want = "a whole number"
	case typ == "bool":
		want = "true or false"
	}
	return fmt.Errorf("%s %q: want %s", name, ive.GetValue(), want)
}
