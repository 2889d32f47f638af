package connlimit

import (
	"bytes"
	"net"
	"syscall"
)

// FirstMessage reports whether b, the first bytes a client sent, hold a
// whole HTTP/1 request head (ended by an empty line, RFC 9112 §2.1; a bare
// LF accepted as net/http does) or a whole TLS record (the ClientHello
// that opens a handshake, RFC 8446 §5.1: type 22, then its length) — or at
// least a full segment's worth of one (SegmentBytes): a message that spans
// segments, a post-quantum ClientHello or a head with large cookies, must
// not be shed because its second segment was a few µs behind the first.
// A slowloris that wants a slot at the cap has to send that much first.
func FirstMessage(b []byte) bool {
	if len(b) >= SegmentBytes {
		return true
	}
	if len(b) >= 5 && b[0] == 22 && b[1] == 3 {
		return len(b) >= 5+int(b[3])<<8|int(b[4])
	}
	return bytes.Contains(b, []byte("\r\n\r\n")) || bytes.Contains(b, []byte("\n\n"))
}

// SegmentBytes is a TCP segment's payload on the smallest path MTU IPv6
// allows (1280 bytes, less 40 of IPv6 and 20 of TCP header, minus room for
// options): FirstMessage takes that much of a message as a sign it is
// coming whole.
const SegmentBytes = 1200

// syscallConn unwraps c, through NetConn methods, down to the socket.
func syscallConn(c net.Conn) syscall.Conn {
	for range 8 {
		if sc, ok := c.(syscall.Conn); ok {
			return sc
		}
		nc, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = nc.NetConn()
	}
	return nil
}
