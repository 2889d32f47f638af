package cli

import (
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
