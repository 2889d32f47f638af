package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newAnalyzeCmd is a placeholder until the analyze command lands; it is hidden from help.
func newAnalyzeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "analyze",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("analyze: not built yet")
		},
	}
}
