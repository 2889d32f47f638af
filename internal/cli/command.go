package cli

import (
	"io"

	"github.com/spf13/cobra"
)

// Command returns socklab's command tree, for tools that walk it rather
// than run it: tools/gendocs writes the Markdown reference, man pages
// and shell completions from it, so none of that is linked into the
// binary.
func Command() *cobra.Command {
	return newRootCmd(&env{stdin: eofReader{}, stdout: io.Discard, stderr: io.Discard})
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
