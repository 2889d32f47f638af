package flagx

import (
	"net"
	"net/netip"
	"strings"

	"github.com/socklab/socklab/internal/errs"
)

// OffToEmpty turns "off" into "" for address flags that can be disabled,
// so every such flag takes either spelling ("--udp off", `--udp ""`).
func OffToEmpty(flags ...*string) {
	for _, f := range flags {
		if *f == "off" {
			*f = ""
		}
	}
}

// CheckListenAddr refuses a listen address that is not host:port before
// anything starts (exit 2), the way a bad --upstream is.
func CheckListenAddr(flag, addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return errs.Invalidf("%s %q: want host:port (e.g. 127.0.0.1:8000, :8000, [::1]:8000)", flag, addr)
	}
	return nil
}

// Prefixes parses a repeatable CIDR flag; a bare address is its own /32
// or /128.
func Prefixes(flag string, values []string) ([]netip.Prefix, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := make([]netip.Prefix, 0, len(values))
	for _, v := range values {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, errs.Invalidf("%s %q: want a CIDR like 10.0.0.0/8", flag, v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// FieldName reports whether s is a field name (an RFC 9110 token).
func FieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return s != ""
}
