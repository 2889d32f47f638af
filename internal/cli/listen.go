package cli

import (
	"context"

	"github.com/socklab/socklab/internal/stack"
)

// OnListen is told every address a command binds, as soon as it is bound
// (miekg/dns' NotifyStartedFunc), with the service's name ("serve http",
// "proxy udp", "metrics", ...): tests bind 127.0.0.1:0 and learn the real
// port without racing for a free one or polling.
type OnListen = stack.OnListen

// WithOnListen returns ctx carrying fn for the commands run under it.
func WithOnListen(ctx context.Context, fn OnListen) context.Context {
	return stack.WithOnListen(ctx, fn)
}
