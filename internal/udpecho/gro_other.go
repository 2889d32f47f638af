//go:build !(linux && (amd64 || arm64))

package udpecho

import "net"

// enableGRO: coalesced receive is Linux's (and parsed on 64-bit only).
func enableGRO(*net.UDPConn) bool { return false }

func parseGRO([]byte) (int, bool) { return 0, false }

const (
	gsoMaxSegments = 64
	gsoMaxBytes    = 65000
)

func gsoAvailable(*net.UDPConn) bool { return false }

var gsoControlSize = 0

func putGSOControl([]byte, int) {}

func gsoRefused(error) bool { return false }
