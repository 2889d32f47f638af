package stack

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/socklab/socklab/internal/proxy"
)

// openLog opens an access log: "-" is stderr, "" or "off" none (nil),
// anything else a file appended to, closed by closeFn.
func openLog(spec string, stderr io.Writer) (w io.Writer, closeFn func(), err error) {
	closeFn = func() {}
	switch spec {
	case "-":
		return stderr, closeFn, nil
	case "off", "":
		return nil, closeFn, nil
	}
	fh, err := os.OpenFile(spec, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("access log: %w", err)
	}
	return fh, func() { fh.Close() }, nil
}

// proxyAccessLog returns the proxy's access-log hook writing to spec (as
// openLog reads it). With asJSON each line is a JSON object, so a
// --log-format json stream is JSON throughout.
func proxyAccessLog(spec string, stderr io.Writer, asJSON bool) (func(proxy.AccessEntry), func(), error) {
	w, closeFn, err := openLog(spec, stderr)
	if err != nil {
		return nil, nil, err
	}
	if w == nil {
		return func(proxy.AccessEntry) {}, closeFn, nil
	}
	var mu sync.Mutex
	return func(a proxy.AccessEntry) {
		line := proxy.FormatAccess(a) + "\n"
		if asJSON {
			line = accessJSON(a)
		}
		mu.Lock()
		defer mu.Unlock()
		_, _ = io.WriteString(w, line)
	}, closeFn, nil
}

// accessJSON renders a proxy access entry as one JSON line, led by time,
// level and msg as slog's JSON lines are.
func accessJSON(a proxy.AccessEntry) string {
	cache := a.Cache
	if cache == "" {
		cache = "-"
	}
	b, _ := json.Marshal(struct {
		Time        string  `json:"time"`
		Level       string  `json:"level"`
		Msg         string  `json:"msg"`
		Client      string  `json:"client"`
		Method      string  `json:"method"`
		URL         string  `json:"url"`
		Status      int     `json:"status"`
		Bytes       int64   `json:"bytes"`
		DurationMs  float64 `json:"duration_ms"`
		Cache       string  `json:"cache"`
		CacheStatus string  `json:"cache_status,omitempty"`
	}{a.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), "INFO", "access", a.Client, a.Method, a.URL, a.Status, a.Bytes,
		float64(a.Duration) / float64(time.Millisecond), cache, a.CacheStatus})
	return string(b) + "\n"
}
