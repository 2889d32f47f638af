package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newPingCmd is a placeholder until the ping command lands; it is hidden from help.
func newPingCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "ping",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("ping: not built yet")
		},
	}
}
