package cli

import (
	"io"

	"github.com/socklab/socklab/internal/report"
)

// writeJSON prints v as one indented JSON document, the contract of --json.
func writeJSON(w io.Writer, v any) error { return report.WriteJSON(w, v) }
