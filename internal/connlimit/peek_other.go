//go:build !linux

package connlimit

import (
	"net"
	"time"
)

// rawAccept: off Linux, every connection comes through net.Listener.Accept.
const rawAccept = false

// DeferAcceptTimeout is unused off Linux.
const DeferAcceptTimeout = time.Duration(0)

// DeferAccept does nothing off Linux (TCP_DEFER_ACCEPT is Linux's).
func DeferAccept(net.Listener) error { return nil }

// peek is not implemented off Linux: every newcomer counts as having sent
// a whole first message.
func peek(net.Conn, []byte) (int, bool) { return 0, false }

// acceptAtCap, promote and the waiting room are Linux's; Listen never
// takes that path elsewhere.
func (ln *listener) acceptAtCap() (net.Conn, bool, error) { return nil, false, nil }
func (ln *listener) promote() net.Conn                    { return nil }
func (ln *listener) closeRoom()                           {}
func roomBound(Config) int                                { return 0 }
