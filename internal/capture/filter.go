package capture

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"
)

// Filter selects packets by a small, tcpdump-like language:
//
//	tcp | udp | icmp          protocol (icmp matches ICMPv4 and ICMPv6)
//	port N                    either port is N
//	host ADDR                 either address is ADDR (IPv4 or IPv6 literal)
//	net CIDR                  either address is inside CIDR
//	not X, X and Y, X or Y    "and" binds tighter than "or"; parentheses group
//
// Examples: "udp and port 9000", "host 127.0.0.1 and not port 22".
type Filter struct {
	src  string
	root filterNode
}

// String returns the expression the filter was parsed from.
func (f *Filter) String() string { return f.src }

func (f *Filter) match(p *packet) bool { return f.root.match(p) }

type filterNode interface{ match(p *packet) bool }

type (
	fProto struct{ a, b uint8 }
	fPort  uint16
	fHost  netip.Addr
	fNet   netip.Prefix
	fNot   struct{ x filterNode }
	fAnd   struct{ x, y filterNode }
	fOr    struct{ x, y filterNode }
)

func (n fProto) match(p *packet) bool { return p.proto == n.a || p.proto == n.b }
func (n fPort) match(p *packet) bool {
	return (p.proto == protoTCP || p.proto == protoUDP) && (p.sport == uint16(n) || p.dport == uint16(n))
}
func (n fHost) match(p *packet) bool {
	a := netip.Addr(n)
	return p.src.Unmap() == a || p.dst.Unmap() == a
}
func (n fNet) match(p *packet) bool {
	pf := netip.Prefix(n)
	return pf.Contains(p.src.Unmap()) || pf.Contains(p.dst.Unmap())
}
func (n fNot) match(p *packet) bool { return !n.x.match(p) }
func (n fAnd) match(p *packet) bool { return n.x.match(p) && n.y.match(p) }
func (n fOr) match(p *packet) bool  { return n.x.match(p) || n.y.match(p) }

// ErrFilter is wrapped by every filter parse error.
var ErrFilter = errors.New("bad flow filter")

// ParseFilter compiles expr. An empty expression matches everything.
func ParseFilter(expr string) (*Filter, error) {
	toks := lexFilter(expr)
	if len(toks) == 0 {
		return nil, nil
	}
	ps := &filterParser{toks: toks}
	n, err := ps.or(0)
	if err == nil && ps.pos < len(toks) {
		err = fmt.Errorf("unexpected %q", toks[ps.pos])
	}
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrFilter, expr, err)
	}
	return &Filter{src: expr, root: n}, nil
}

func lexFilter(s string) []string {
	s = strings.NewReplacer("(", " ( ", ")", " ) ").Replace(s)
	return strings.Fields(strings.ToLower(s))
}

type filterParser struct {
	toks []string
	pos  int
}

const maxFilterDepth = 64

func (ps *filterParser) peek() string {
	if ps.pos < len(ps.toks) {
		return ps.toks[ps.pos]
	}
	return ""
}

func (ps *filterParser) next() string {
	t := ps.peek()
	if t != "" {
		ps.pos++
	}
	return t
}

func (ps *filterParser) or(depth int) (filterNode, error) {
	x, err := ps.and(depth)
	for err == nil && ps.peek() == "or" {
		ps.next()
		var y filterNode
		if y, err = ps.and(depth); err == nil {
			x = fOr{x, y}
		}
	}
	return x, err
}

func (ps *filterParser) and(depth int) (filterNode, error) {
	x, err := ps.unary(depth)
	for err == nil && ps.peek() == "and" {
		ps.next()
		var y filterNode
		if y, err = ps.unary(depth); err == nil {
			x = fAnd{x, y}
		}
	}
	return x, err
}

func (ps *filterParser) unary(depth int) (filterNode, error) {
	if depth > maxFilterDepth {
		return nil, errors.New("nested too deeply")
	}
	switch t := ps.next(); t {
	case "":
		return nil, errors.New("expression ends too early")
	case "not":
		x, err := ps.unary(depth + 1)
		return fNot{x}, err
	case "(":
		x, err := ps.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if ps.next() != ")" {
			return nil, errors.New("missing )")
		}
		return x, nil
	case "tcp":
		return fProto{protoTCP, protoTCP}, nil
	case "udp":
		return fProto{protoUDP, protoUDP}, nil
	case "icmp":
		return fProto{protoICMP, protoICMPv6}, nil
	case "port":
		v := ps.next()
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("port %q: want a number 0-65535", v)
		}
		return fPort(n), nil
	case "host":
		v := ps.next()
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("host %q: want an IP address", v)
		}
		return fHost(a.Unmap()), nil
	case "net":
		v := ps.next()
		pf, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("net %q: want a CIDR prefix such as 10.0.0.0/8", v)
		}
		return fNet(pf.Masked()), nil
	default:
		return nil, fmt.Errorf("unknown word %q (want tcp, udp, icmp, port N, host ADDR, net CIDR, not, and, or)", t)
	}
}

func linkName(lt layers.LinkType) string {
	switch lt {
	case layers.LinkTypeEthernet:
		return "ethernet"
	case layers.LinkTypeLinuxSLL:
		return "linux_sll"
	case layers.LinkTypeLinuxSLL2:
		return "linux_sll2"
	case layers.LinkTypeNull:
		return "null"
	case layers.LinkTypeLoop:
		return "loop"
	case layers.LinkTypeRaw, 12, 14:
		return "raw"
	case layers.LinkTypeIPv4:
		return "ipv4"
	case layers.LinkTypeIPv6:
		return "ipv6"
	}
	return fmt.Sprintf("linktype_%d", int(lt))
}
