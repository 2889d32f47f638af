package proxy

import (
	"errors"
	"net/http"
)

// Refusals and failures the proxy answers itself. They speak in the
// proxy's own terms; a caller that knows how the setting is spelled (cli's
// flags) adds that through Config.ErrorHandler, matching with errors.Is.
var (
	// ErrClientRefused: the client's address is outside Config.Allow.
	ErrClientRefused = errors.New("client not allowed")
	// ErrPortRefused: a CONNECT to a port outside Config.ConnectPorts.
	ErrPortRefused = errors.New("connect port not allowed")
	// ErrDestinationRefused: a local destination while
	// Config.BlockLocalDest is set and Config.AllowDest does not list it.
	ErrDestinationRefused = errors.New("destination not allowed")
	// ErrUpstreamTimeout: no answer within Config.UpstreamTimeout.
	ErrUpstreamTimeout = errors.New("upstream timed out")
	// ErrResponseHeaderTooLarge: the origin's response header section
	// exceeded Config.MaxResponseHeaderBytes (502).
	ErrResponseHeaderTooLarge = errors.New("upstream response header too large")
)

// Error is an answer the proxy gives itself: the HTTP status and the
// message for the body. It unwraps to one of the Err* kinds above, or to
// the upstream's error.
type Error struct {
	Status int
	Msg    string
	Err    error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// fail answers r with err: through Config.ErrorHandler when one is set,
// else WriteError.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err *Error) {
	if p.cfg.ErrorHandler != nil {
		p.cfg.ErrorHandler(w, r, err)
		return
	}
	p.WriteError(w, err)
}

// WriteError writes the proxy's plain-text error response for err, with
// the status of the *Error it wraps (502 when there is none). An
// ErrorHandler that only adds to the message ends by calling it.
func (p *Proxy) WriteError(w http.ResponseWriter, err error) {
	status := http.StatusBadGateway
	var pe *Error
	if errors.As(err, &pe) {
		status = pe.Status
	}
	p.plainError(w, status, err.Error())
}
