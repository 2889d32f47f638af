package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newServeCmd is a placeholder until the serve command lands; it is hidden from help.
func newServeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "serve",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("serve: not built yet")
		},
	}
}
