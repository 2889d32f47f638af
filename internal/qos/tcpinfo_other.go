//go:build !linux

package qos

import "net"

// readTCPInfo: TCP_INFO is only read on Linux.
func readTCPInfo(*net.TCPConn) tcpInfo { return tcpInfo{} }
