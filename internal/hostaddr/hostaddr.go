// Package hostaddr is the one name lookup of ping, traceroute and the
// client menu: an IP literal as is, a name through the system resolver.
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
