package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/load/loadresult"
	"github.com/socklab/socklab/internal/report"
)

// maxMergeInput bounds one input file: a load result with its histogram is
// tens of kilobytes, so anything near this is not one.
const maxMergeInput = 64 << 20

func newMergeCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "merge FILE...",
		Short: "Combine load results from several generators into one exact report",
		Long: `Read the JSON documents written by "socklab load --json" or "--out FILE" on
several machines (or several runs) and print one report: totals summed, rates
over the window from the earliest start to the latest end, and latency
percentiles from the merged histogram (never averages of percentiles), then a
row per generator. A directory stands for every *.json file in it; "-" reads
one document from standard input.

The output of "socklab merge --json" is itself a load result and merges again.`,
		Example: `  socklab merge gen1.json gen2.json gen3.json
  socklab merge --json results/*.json > total.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMerge(cmd.Context(), e, args, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func runMerge(_ context.Context, e *env, files []string, asJSON bool) error {
	files, err := expandMergeArgs(files)
	if err != nil {
		return err
	}
	inputs := make([]loadresult.Input, 0, len(files))
	for _, name := range files {
		r, err := readLoadResult(e, name)
		if err != nil {
			return err
		}
		inputs = append(inputs, loadresult.Input{Name: name, Result: r})
	}
	m, err := loadresult.Merge(inputs)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(e.stdout, report.MergeJSON(m))
	}
	return report.WriteMergeText(e.stdout, m)
}

// expandMergeArgs replaces a directory by the *.json files in it, in name
// order: the results volume of a Kubernetes Job, say, where no shell expands
// a glob.
func expandMergeArgs(args []string) ([]string, error) {
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

// readLoadResult decodes one load --json document from a file or "-".
func readLoadResult(e *env, name string) (*loadresult.Result, error) {
	var in io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	var d report.LoadDoc
	dec := json.NewDecoder(io.LimitReader(in, maxMergeInput))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: not a socklab load --json document: %w", name, err)
	}
	if d.Protocol == "" {
		return nil, fmt.Errorf("%s: not a socklab load --json document: no protocol", name)
	}
	return report.LoadResult(&d), nil
}
