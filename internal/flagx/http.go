package flagx

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/errs"
)

// Header turns repeated -H 'Name: value' flags into a header.
func Header(lines []string) (http.Header, error) {
	h := http.Header{}
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, errs.Invalidf("-H %q: want 'Name: value'", l)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// Data reads get's -d value: literal text, @FILE, or @- for stdin.
func Data(v string, stdin io.Reader) ([]byte, error) {
	name, ok := strings.CutPrefix(v, "@")
	if !ok {
		return []byte(v), nil
	}
	if name == "-" {
		return io.ReadAll(stdin)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	return b, nil
}

// StartAt reads load's --start-at: RFC 3339 (2026-12-02T12:00:00Z) or Unix
// seconds, fractions allowed (date +%s). Empty means no wait. A time more
// than a day away is surely a typo.
func StartAt(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		secs, perr := strconv.ParseFloat(s, 64)
		if perr != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || secs < 0 {
			return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-12-02T12:00:00Z) or Unix seconds", s)
		}
		whole, frac := math.Modf(secs)
		t = time.Unix(int64(whole), int64(frac*1e9))
	}
	if t.Sub(now) > 24*time.Hour {
		return time.Time{}, fmt.Errorf("%s is more than a day away", t.UTC().Format(time.RFC3339))
	}
	return t, nil
}
