package report

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// DemoStep is one row of the demo's summary table.
type DemoStep struct {
	Name   string // serve, proxy, cache, qos, load, ping
	Status string // ok, skipped, interrupted, FAILED
	Result string // what the step found, in one line
}

// WriteDemoSummary writes the demo's closing table.
func WriteDemoSummary(w io.Writer, steps []DemoStep) error {
	if _, err := fmt.Fprintln(w, "\nSummary"); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  step\tstatus\tresult")
	for _, s := range steps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, s.Status, s.Result)
	}
	return tw.Flush()
}
