//go:build !linux

package qos

import "net"

const sockBuf = 4 << 20

// tuneSocket enlarges the buffers; other platforms get no kernel timestamps
// or drop counter here.
func tuneSocket(c *net.UDPConn) (timestamps, drops bool) {
	_ = c.SetReadBuffer(sockBuf)
	_ = c.SetWriteBuffer(sockBuf)
	return false, false
}

const oobSize = 0

func parseOOB([]byte) (int64, uint32, bool) { return 0, 0, false }
