package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newDocsCmd writes the Markdown command reference from the cobra commands
// themselves, so the pages and --help cannot drift apart (docs/cli is
// regenerated with "go generate ./..." and checked by a test).
func newDocsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "docs DIR",
		Short: "Write the Markdown command reference into DIR",
		Long: `Write one Markdown page per command into DIR, generated from the same
definitions that --help prints. The repository keeps them in docs/cli.`,
		Args:   cobra.ExactArgs(1),
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeDocs(cmd.Root(), args[0])
		},
	}
}

func writeDocs(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("docs: %w", err)
	}
	root.DisableAutoGenTag = true
	if err := doc.GenMarkdownTree(root, dir); err != nil {
		return fmt.Errorf("docs: write %s: %w", dir, err)
	}
	return nil
}
