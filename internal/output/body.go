package output

import (
	"fmt"
	"io"
	"os"
)

// Body returns where get's response body goes: nowhere, stdout, or FILE
// (truncated for each request, so it holds the last body).
func Body(name string, stdout io.Writer) (io.Writer, func() error, error) {
	switch name {
	case "":
		return nil, func() error { return nil }, nil
	case "-":
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, fmt.Errorf("get: %w", err)
	}
	return f, f.Close, nil
}
