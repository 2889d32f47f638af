//go:build !linux

package webserver

import "net"

// sockListener passes connections through unchanged off Linux (see
// sockconn_linux.go).
type sockListener struct{ net.Listener }

func (l sockListener) Unwrap() net.Listener         { return l.Listener }
func (l sockListener) WrapConn(c net.Conn) net.Conn { return c }
