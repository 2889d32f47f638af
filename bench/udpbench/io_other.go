//go:build !linux

package main

import (
	"net"
	"time"
)

// serveEcho echoes every datagram on c back to its sender.
func serveEcho(c *net.UDPConn) error {
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if isClosed(err) {
				return err
			}
			continue
		}
		c.WriteToUDPAddrPort(buf[:n], from)
	}
}

func readReplies(c *net.UDPConn, quiet time.Duration, each func(p []byte)) {
	readRepliesPlain(c, quiet, each)
}
