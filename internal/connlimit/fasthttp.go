package connlimit

import (
	"net"
	"net/http"

	"github.com/valyala/fasthttp"
)

// fastStates maps fasthttp's connection states onto net/http's, which mean
// the same things (StateNew before the first byte of a request, StateActive
// from it to the end of the response, StateIdle between keep-alive
// requests, StateHijacked taken over, StateClosed gone).
var fastStates = [...]http.ConnState{
	fasthttp.StateNew:      http.StateNew,
	fasthttp.StateActive:   http.StateActive,
	fasthttp.StateIdle:     http.StateIdle,
	fasthttp.StateHijacked: http.StateHijacked,
	fasthttp.StateClosed:   http.StateClosed,
}

// FastConnState is ConnState for a fasthttp.Server.
func (l *Limiter) FastConnState(c net.Conn, s fasthttp.ConnState) {
	if int(s) < len(fastStates) {
		l.ConnState(c, fastStates[s])
	}
}
