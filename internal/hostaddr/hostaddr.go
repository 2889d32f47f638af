// Package hostaddr is the one name lookup of ping, traceroute and the
// client menu (an IP literal as is, a name through the system resolver),
// traceroute's reverse lookup, and ping's -I interface.
package hostaddr

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Resolve returns host's address: an IP literal as is, a name through
// the system resolver (at most 5 s), keeping the first address of the wanted family ("ip", "ip4" or "ip6").
func Resolve(ctx context.Context, network, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		a = a.Unmap()
		if (network == "ip4" && !a.Is4()) || (network == "ip6" && !a.Is6()) {
			return netip.Addr{}, fmt.Errorf("%s: address family for hostname not supported", host)
		}
		return a, nil
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(rctx, network, host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("%s: Name or service not known", host)
	}
	return addrs[0].Unmap(), nil
}

// Interface resolves ping's -I: an interface name, or an address one of
// the interfaces holds (iputils takes both; socklab binds the interface).
func Interface(v string) (string, error) {
	if a, err := netip.ParseAddr(v); err == nil {
		ifs, err := net.Interfaces()
		if err != nil {
			return "", fmt.Errorf("ping: -I %s: %w", v, err)
		}
		for _, ifc := range ifs {
			addrs, _ := ifc.Addrs()
			for _, ad := range addrs {
				if p, err := netip.ParsePrefix(ad.String()); err == nil && p.Addr().Unmap() == a.Unmap() {
					return ifc.Name, nil
				}
			}
		}
		return "", fmt.Errorf("ping: -I %s: no interface has this address", v)
	}
	if _, err := net.InterfaceByName(v); err != nil {
		return "", fmt.Errorf("ping: unknown iface: %s", v)
	}
	return v, nil
}

// Network is the resolver's network for -4 and -6: "ip4", "ip6" or "ip".
func Network(v4, v6 bool) string {
	switch {
	case v4:
		return "ip4"
	case v6:
		return "ip6"
	}
	return "ip"
}

// ReverseName looks addr up in the DNS, "" when it has no name.
func ReverseName(ctx context.Context, addr netip.Addr) string {
	names, err := net.DefaultResolver.LookupAddr(ctx, addr.String())
	if err != nil || len(names) == 0 {
		return ""
	}
	return strings.TrimSuffix(names[0], ".")
}
