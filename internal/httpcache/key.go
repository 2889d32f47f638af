package httpcache

import (
	"sort"
	"strings"
)

// PrimaryKey is the cache key of a request (§2): the method and the target
// URI (absolute, with scheme and host). HEAD shares GET's key because a
// stored GET response can answer a HEAD (§4).
func PrimaryKey(method, uri string) string {
	if method == "HEAD" {
		method = "GET"
	}
	return method + " " + uri
}

// ReverseKey is the cache key of a request a reverse proxy sends to its
// configured upstream: the primary key in a key space of its own, named by
// the upstream. The Host a client sends in origin-form is only a claim, so
// a key built from it alone ("http://" + Host + path) would let a client of
// the reverse proxy store a response that forward-proxy clients then get
// for the real "http://Host/path" (cache poisoning). '@' is not a token
// character (RFC 9110 §5.6.2), so no method starts a forward key with it.
func ReverseKey(method, upstream, uri string) string {
	return "@reverse " + upstream + " " + PrimaryKey(method, uri)
}

// SecondaryKey is the Vary part of a cache key (§4.1): the named request
// fields' values, field lines combined and whitespace normalised, so two
// requests with equal keys select the same stored response. Order of the
// names does not matter.
func SecondaryKey(fields []string, req Header) string {
	names := append([]string(nil), fields...)
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		b.WriteString(strings.ToLower(name))
		b.WriteByte(':')
		lines := req[CanonicalKey(name)]
		for i, line := range lines {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(normalizeValue(line))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// normalizeValue collapses whitespace and drops it around commas, so
// "gzip,  br" and "gzip, br" select the same response (§4.1 allows this).
func normalizeValue(v string) string {
	parts := splitList(v)
	for i, p := range parts {
		parts[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.Join(parts, ",")
}
