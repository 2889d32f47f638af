//go:build !(linux && (amd64 || arm64))

package udpecho

import (
	"net"
	"time"
)

// rxTimestamps: kernel receive timestamps are only wired up on 64-bit
// Linux; elsewhere the reflector stamps arrival when the read returns.
func rxTimestamps(*net.UDPConn) bool { return false }

const oobSize = 0

func parseRxTime([]byte) (time.Time, bool) { return time.Time{}, false }

func parseRxDrops([]byte) (uint32, bool) { return 0, false }
