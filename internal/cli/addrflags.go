package cli

import (
	"net"
)

// offToEmpty turns "off" into "" for address flags that can be disabled,
// so every such flag takes either spelling ("--udp off", `--udp ""`).
func offToEmpty(flags ...*string) {
	for _, f := range flags {
		if *f == "off" {
			*f = ""
		}
	}
}

// checkListenAddr refuses a listen address that is not host:port before
// anything starts (a usage error, exit 2), the way a bad --upstream is.
func checkListenAddr(flag, addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return usageErrf("%s %q: want host:port (e.g. 127.0.0.1:8000, :8000, [::1]:8000)", flag, addr)
	}
	return nil
}
