//go:build !linux

package udprelay

import (
	"errors"
	"net"
)

// readUpstreamPlain is readUpstream for systems without the raw receive:
// it keeps one buffer per session.
func (r *Relay) readUpstreamPlain(s *session) {
	buf := make([]byte, bufSize)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		r.handleDown(s, buf[:n])
	}
}
