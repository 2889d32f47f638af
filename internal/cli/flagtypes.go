package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/socklab/socklab/internal/units"
)

// secondsDuration is a duration flag that also takes a bare number of
// seconds ("-t 10", "-i 0.2", "-m 5"), as iperf3, ping and curl do; Go's
// forms ("10s", "200ms") keep working.
type secondsDuration struct{ pflag.Value }

func (v secondsDuration) Set(s string) error {
	d, err := units.ParseDuration(s)
	if err != nil {
		return err
	}
	return v.Value.Set(d.String())
}

// acceptBareSeconds makes every duration flag of cmd and its subcommands a
// secondsDuration, so no command can forget to.
func acceptBareSeconds(cmd *cobra.Command) {
	wrap := func(f *pflag.Flag) {
		if _, done := f.Value.(secondsDuration); !done && f.Value.Type() == "duration" {
			f.Value = secondsDuration{f.Value}
			if f.DefValue == "0s" {
				f.DefValue = "0" // what pflag's help takes for "no default"
			}
		}
	}
	cmd.Flags().VisitAll(wrap)
	cmd.PersistentFlags().VisitAll(wrap)
	for _, c := range cmd.Commands() {
		acceptBareSeconds(c)
	}
}

// plainFlagError rewrites pflag's "invalid argument" error, which quotes
// strconv ("strconv.ParseUint: parsing "-1": invalid syntax"), into what
// the flag wants: "--seed -1: want a whole number, 0 or more".
func plainFlagError(err error) error {
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
