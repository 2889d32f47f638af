package cli

import (
	"io"
	"log/slog"
)

// logOptions are the global --log-format and --log-level flags.
type logOptions struct {
	format string
	level  string
}

func (o logOptions) validate() error {
	if o.format != "text" && o.format != "json" {
		return usageErrf("--log-format must be text or json, not %q", o.format)
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(o.level)); err != nil {
		return usageErrf("--log-level must be debug, info, warn or error, not %q", o.level)
	}
	return nil
}

// logger builds the slog.Logger every engine gets; logs go to w (stderr).
func (e *env) logger(w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(e.log.level))
	opts := &slog.HandlerOptions{Level: l}
	if e.log.format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
