package output

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/socklab/socklab/internal/load/loadresult"
	"github.com/socklab/socklab/internal/report"
)

// MaxLoadDoc bounds one input file: a load result with its histogram is
// tens of kilobytes, so anything near this is not one.
const MaxLoadDoc = 64 << 20

// ExpandMergeArgs replaces a directory by the *.json files in it, in name
// order: the results volume of a Kubernetes Job, say, where no shell expands
// a glob.
func ExpandMergeArgs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if a == "-" || err != nil || !fi.IsDir() {
			out = append(out, a) // a missing file is reported when read
			continue
		}
		found, err := filepath.Glob(filepath.Join(a, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no *.json files in the directory", a)
		}
		out = append(out, found...) // Glob sorts
	}
	return out, nil
}

// ReadLoadResult decodes one load --json document from a file or "-".
func ReadLoadResult(stdin io.Reader, name string) (*loadresult.Result, error) {
	in, err := Open(name, stdin)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	var d report.LoadDoc
	dec := json.NewDecoder(io.LimitReader(in, MaxLoadDoc))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: not a socklab load --json document: %w", name, err)
	}
	if d.Protocol == "" {
		return nil, fmt.Errorf("%s: not a socklab load --json document: no protocol", name)
	}
	return report.LoadResult(&d), nil
}

// Open opens the input a command reads: FILE, or stdin for "-" (which
// Close leaves open).
func Open(name string, stdin io.Reader) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(stdin), nil
	}
	return os.Open(name)
}
