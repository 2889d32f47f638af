package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newGetCmd is a placeholder until the get command lands; it is hidden from help.
func newGetCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "get",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("get: not built yet")
		},
	}
}
