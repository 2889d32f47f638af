package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newQoSCmd is a placeholder until the qos command lands; it is hidden from help.
func newQoSCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "qos",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("qos: not built yet")
		},
	}
}
