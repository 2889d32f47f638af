package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/load/loadresult"
	"github.com/socklab/socklab/internal/output"
	"github.com/socklab/socklab/internal/report"
)

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
	files, err := output.ExpandMergeArgs(files)
	if err != nil {
		return err
	}
	inputs := make([]loadresult.Input, 0, len(files))
	for _, name := range files {
		r, err := output.ReadLoadResult(e.stdin, name)
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
