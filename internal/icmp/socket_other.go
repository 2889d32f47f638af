//go:build !linux

package icmp

import (
	"fmt"
	"net/netip"
	"runtime"
)

// socklab's ICMP sockets are Linux's: raw sockets, and the unprivileged
// ICMP datagram sockets with their error queue. Elsewhere the engines
// report errUnsupported rather than keep the whole binary from building.
var errUnsupported = fmt.Errorf("icmp sockets are not implemented on %s: socklab's ping and traceroute need Linux", runtime.GOOS)

// Listen reports errUnsupported.
func Listen(ListenConfig) (Conn, error) { return nil, errUnsupported }

func isPermission(error) bool { return false }

type sockConn struct{}

func listenProto(ListenConfig, int, int) (*sockConn, error) { return nil, errUnsupported }

func (*sockConn) Raw() bool                             { return false }
func (*sockConn) Close() error                          { return nil }
func (*sockConn) ReadPacket([]byte) (Packet, error)     { return Packet{}, errUnsupported }
func (*sockConn) WriteTo([]byte, netip.Addr, int) error { return errUnsupported }
func (*sockConn) attachSourcePortFilter(uint16) error   { return errUnsupported }
func reserveTCPPort(netip.Addr) (uint16, int, error)    { return 0, -1, errUnsupported }
func closeFD(int)                                       {}

// routeMTU is unknown on this platform.
func routeMTU(netip.Addr) int { return 0 }
