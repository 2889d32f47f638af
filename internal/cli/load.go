package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newLoadCmd is a placeholder until the load command lands; it is hidden from help.
func newLoadCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "load",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("load: not built yet")
		},
	}
}
