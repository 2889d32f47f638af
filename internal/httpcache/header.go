package httpcache

import "strings"

// Header is a message's header section with canonical keys, the same shape
// as net/http's Header so callers pass theirs without copying.
type Header = map[string][]string

// CanonicalKey returns the canonical form of a field name ("cache-control"
// → "Cache-Control"), as net/textproto does for valid tokens.
func CanonicalKey(s string) string {
	b := []byte(s)
	upper := true
	changed := false
	for i, c := range b {
		want := c
		if upper && 'a' <= c && c <= 'z' {
			want = c - 'a' + 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			want = c - 'A' + 'a'
		}
		if want != c {
			b[i] = want
			changed = true
		}
		upper = c == '-'
	}
	if !changed {
		return s
	}
	return string(b)
}

// get returns the first value of field name in h.
func get(h Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// listMembers splits every field line of name in h into its comma-separated
// members, trimmed, empty members dropped (RFC 9110 §5.6.1). Quoted strings
// are kept whole.
func listMembers(h Header, name string) []string {
	var out []string
	for _, line := range h[name] {
		for _, m := range splitList(line) {
			if m != "" {
				out = append(out, m)
			}
		}
	}
	return out
}

// splitList splits s on commas outside quoted strings and trims each member.
func splitList(s string) []string {
	var out []string
	start, quoted, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// CloneHeader returns a deep copy of h.
func CloneHeader(h Header) Header {
	if h == nil {
		return nil
	}
	out := make(Header, len(h))
	for k, v := range h {
		out[k] = append([]string(nil), v...)
	}
	return out
}
