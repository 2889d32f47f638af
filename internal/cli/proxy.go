package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newProxyCmd is a placeholder until the proxy command lands; it is hidden from help.
func newProxyCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "proxy",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("proxy: not built yet")
		},
	}
}
