package stack

import (
	"context"
	"net"
)

// OnListen is told every address a command binds, as soon as it is bound
// (miekg/dns' NotifyStartedFunc), with the service's name ("serve http",
// "proxy udp", "metrics", ...): tests bind 127.0.0.1:0 and learn the real
// port without racing for a free one or polling.
type OnListen func(name string, addr net.Addr)

type onListenKey struct{}

// WithOnListen returns ctx carrying fn for the commands run under it. The
// hook travels in the context, as net/http/httptrace's ClientTrace does,
// because it observes a run rather than configuring it.
func WithOnListen(ctx context.Context, fn OnListen) context.Context {
	return context.WithValue(ctx, onListenKey{}, fn)
}

func notifyListen(ctx context.Context, name string, addr net.Addr) {
	if fn, ok := ctx.Value(onListenKey{}).(OnListen); ok && fn != nil {
		fn(name, addr)
	}
}

// ListenTCP binds addr for the service name and tells the hook.
func ListenTCP(ctx context.Context, name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		notifyListen(ctx, name, ln.Addr())
	}
	return ln, err
}

// ListenUDP binds addr for the service name and tells the hook.
func ListenUDP(ctx context.Context, name, addr string) (*net.UDPConn, error) {
	laddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP("udp", laddr)
	if err == nil {
		notifyListen(ctx, name, pc.LocalAddr())
	}
	return pc, err
}

// OnListenOf is the hook ctx carries, nil if none.
func OnListenOf(ctx context.Context) OnListen {
	fn, _ := ctx.Value(onListenKey{}).(OnListen)
	return fn
}
