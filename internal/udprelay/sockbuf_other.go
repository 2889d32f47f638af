//go:build !linux

package udprelay

import "net"

// receiveBuffer is not checked beyond Linux.
func receiveBuffer(*net.UDPConn) (int, bool) { return 0, false }
