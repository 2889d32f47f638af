//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package udpecho

import "net"

// reusePortConfig: no SO_REUSEPORT here; Listen falls back to a plain
// socket and Serve to one loop.
func reusePortConfig() *net.ListenConfig { return &net.ListenConfig{} }

func reusePort(*net.UDPConn) bool { return false }
