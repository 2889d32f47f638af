package monitor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/socklab/socklab/internal/monitor/monitorresult"
)

// Kind is how a target is probed; its values live in monitorresult.
type Kind = monitorresult.Kind

// Target kinds.
const (
	KindUDP  = monitorresult.KindUDP
	KindICMP = monitorresult.KindICMP
	KindHTTP = monitorresult.KindHTTP
)

// Target is one thing to probe. Name is the target as written, the value of
// the metrics' target label; Addr is host:port (udp), the host (icmp) or the
// URL (http).
type Target struct {
	Name string
	Kind Kind
	Addr string
}

// ErrBadTarget is wrapped by every error of ParseTarget.
var ErrBadTarget = errors.New("bad monitor target")

// ParseTarget reads udp://host:port, icmp://host, or an http(s):// URL.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Target{}, fmt.Errorf("%w %q: want udp://host:port, icmp://host or an http(s):// URL", ErrBadTarget, s)
	}
	switch strings.ToLower(scheme) {
	case "udp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil || host == "" || strings.ContainsAny(rest, "/?#") {
			return Target{}, fmt.Errorf("%w %q: want udp://host:port", ErrBadTarget, s)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("%w %q: port %q is not 1-65535", ErrBadTarget, s, port)
		}
		return Target{Name: s, Kind: KindUDP, Addr: net.JoinHostPort(host, port)}, nil
	case "icmp":
		host := strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]")
		_, ipErr := netip.ParseAddr(host)
		if host == "" || strings.ContainsAny(host, "/?#@[] ") || (strings.Contains(host, ":") && ipErr != nil) {
			return Target{}, fmt.Errorf("%w %q: want icmp://host, without port or path", ErrBadTarget, s)
		}
		return Target{Name: s, Kind: KindICMP, Addr: host}, nil
	case "http", "https":
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil {
			return Target{}, fmt.Errorf("%w %q: want an http(s)://host[:port]/path URL", ErrBadTarget, s)
		}
		return Target{Name: s, Kind: KindHTTP, Addr: u.String()}, nil
	}
	return Target{}, fmt.Errorf("%w %q: scheme %q is not udp, icmp, http or https", ErrBadTarget, s, scheme)
}

// ParseTargets reads one target per line; blank lines and # comments are
// skipped. Duplicates are kept once. Errors name the line.
func ParseTargets(r io.Reader) ([]Target, error) {
	var out []Target
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		t, err := ParseTarget(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, t)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
