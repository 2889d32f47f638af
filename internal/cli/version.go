package cli

import (
	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/buildinfo"
)

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the module version, VCS revision and Go version (also --version)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			buildinfo.Read().Write(e.stdout)
			return nil
		},
	}
}

// setVersionFlag gives root a --version flag that prints what "socklab
// version" prints. Not cobra's own Version field: cobra renders it through
// text/template, and one reachable template Execute makes the linker keep
// every exported method of every type (36.9 MB against 25 MB).
func setVersionFlag(root *cobra.Command, e *env) {
	// Declared here, with no shorthand: cobra's default would take -v,
	// which means verbose to curl users.
	show := root.Flags().Bool("version", false, `print the version, as "socklab version" does`)
	help := root.RunE
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if *show {
			buildinfo.Read().Write(e.stdout)
			return nil
		}
		return help(cmd, args)
	}
}
