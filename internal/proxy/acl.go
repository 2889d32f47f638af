package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// DefaultAllow is who may use the proxy when Config.Allow is nil: loopback
// and the private ranges, like Squid's "localnet" ACL (RFC 1918, RFC 6598
// shared space, RFC 4193 unique local, link-local v4 and v6).
var DefaultAllow = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
}

// localDest are destinations a proxy exposed beyond loopback must not reach
// for its clients (they would see the proxy host's own services), unless
// Config.AllowDest lets them.
var localDest = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("fe80::/10"),
}

func inAny(a netip.Addr, prefixes []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAllowed checks a client's remote address against the allow list.
func (p *Proxy) clientAllowed(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	return inAny(ap.Addr(), p.allow)
}

// destControl is a net.Dialer Control hook: it runs on the resolved address
// just before connect(2), so a name that resolves (or re-resolves, DNS
// rebinding) to a local address is caught.
func (p *Proxy) destControl(_, address string, _ syscall.RawConn) error {
	if !p.cfg.BlockLocalDest {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%s: %w", address, ErrDestinationRefused)
	}
	if inAny(ap.Addr(), localDest) && !inAny(ap.Addr(), p.cfg.AllowDest) {
		return fmt.Errorf("%s is a local address: %w", ap.Addr(), ErrDestinationRefused)
	}
	return nil
}

// IsLoopbackListen reports whether addr (host:port) binds only loopback,
// in which case local destinations need no protection.
func IsLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
