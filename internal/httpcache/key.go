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
