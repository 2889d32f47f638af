package cli

import (
	"encoding/json"
	"io"
)

// writeJSON prints v as one indented JSON document, the contract of --json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
