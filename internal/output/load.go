package output

import (
	"fmt"
	"os"

	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/report"
)

// CreateLoadOut opens load's --out before the run, so a bad path fails at
// once rather than after the load. Nil when there is no --out.
func CreateLoadOut(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	return f, nil
}

// WriteLoadOut writes the load --json document to f and closes it.
func WriteLoadOut(f *os.File, r *load.Result) error {
	err := report.WriteJSON(f, report.LoadJSON(r))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}
