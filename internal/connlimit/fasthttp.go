package connlimit

import (
	"net"

	"github.com/valyala/fasthttp"
)

// FastConnState is ConnState for a fasthttp.Server: the same view of each
// connection from fasthttp's states (StateNew before the first byte of a
// request, StateActive from it to the end of the response, StateIdle
// between keep-alive requests).
func (l *Limiter) FastConnState(c net.Conn, s fasthttp.ConnState) {
	switch s {
	case fasthttp.StateNew:
		l.Set(c, Fresh)
	case fasthttp.StateIdle:
		l.Set(c, Idle)
	case fasthttp.StateActive:
		l.Set(c, Busy)
	case fasthttp.StateHijacked:
		l.Set(c, Detached)
	case fasthttp.StateClosed:
		if tc := find(c); tc != nil && tc.l == l {
			l.drop(tc)
		}
	}
}
