package udprelay

import "net"

// setBuffers asks for cfg.SocketBuffer bytes of kernel receive buffer (and
// send buffer, if send) on c: a burst the relay has not yet read waits
// there instead of being dropped. The system may grant less
// (net.core.rmem_max on Linux); the relay says so once.
func (r *Relay) setBuffers(c *net.UDPConn, which string, send bool) {
	want := r.cfg.SocketBuffer
	_ = c.SetReadBuffer(want)
	if send {
		_ = c.SetWriteBuffer(want)
	}
	if got, ok := receiveBuffer(c); ok && got < want && r.bufWarned.CompareAndSwap(false, true) {
		r.log.Warn("udp relay socket receive buffer is smaller than asked; bursts may be dropped (raise net.core.rmem_max)",
			"socket", which, "asked", want, "got", got)
	}
}
