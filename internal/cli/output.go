package cli

import (
	"bufio"
	"io"
	"os"

	"github.com/socklab/socklab/internal/report"
)

// writeJSON prints v as one indented JSON document, the contract of --json.
func writeJSON(w io.Writer, v any) error { return report.WriteJSON(w, v) }

// writeFile creates path and fills it with render; it reports the first
// error of rendering, flushing and closing. Renderers write to an
// io.Writer; opening files is cli's job.
func writeFile(path string, render func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = render(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
