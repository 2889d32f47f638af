package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newClientCmd is a placeholder until the client command lands; it is hidden from help.
func newClientCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "client",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("client: not built yet")
		},
	}
}
