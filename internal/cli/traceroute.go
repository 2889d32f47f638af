package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newTracerouteCmd is a placeholder until the traceroute command lands; it is hidden from help.
func newTracerouteCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "traceroute",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("traceroute: not built yet")
		},
	}
}
