package httpcache

import "strings"

// ParseContentRange parses a single-part Content-Range of a 206 (RFC 9110
// §14.4): "bytes first-last/complete-length". An unknown complete length
// ("*") or an unsatisfied-range form is not ok: such a part cannot be
// stored, served from or combined.
func ParseContentRange(v string) (r ByteRange, size int64, ok bool) {
	unit, rest, found := strings.Cut(strings.TrimSpace(v), " ")
	if !found || !strings.EqualFold(unit, "bytes") {
		return r, 0, false
	}
	span, total, found := strings.Cut(rest, "/")
	first, last, dash := strings.Cut(span, "-")
	if !found || !dash {
		return r, 0, false
	}
	var okF, okL, okS bool
	r.First, okF = digits(first)
	r.Last, okL = digits(last)
	size, okS = digits(total)
	if !okF || !okL || !okS || r.First > r.Last || r.Last >= size {
		return ByteRange{}, 0, false
	}
	return r, size, true
}

// StrongMatch reports whether two responses carry the same strong
// validator (RFC 9110 §8.8.1): equal strong entity tags, or, when neither
// has one, equal Last-Modified dates each at least a second before its
// Date (§8.8.2.2). Only such parts may be combined (RFC 9111 §3.4).
func StrongMatch(a, b Header) bool {
	ea, eb := get(a, "Etag"), get(b, "Etag")
	if ea != "" || eb != "" {
		return ea != "" && ea == eb && !strings.HasPrefix(ea, "W/")
	}
	return strongDate(a) && strongDate(b) && get(a, "Last-Modified") == get(b, "Last-Modified")
}

func strongDate(h Header) bool {
	lm, ok1 := ParseHTTPDate(get(h, "Last-Modified"))
	d, ok2 := ParseHTTPDate(get(h, "Date"))
	return ok1 && ok2 && d.Sub(lm) >= 1e9
}

// CombineParts joins two parts of one representation of size bytes when
// they overlap or touch (RFC 9111 §3.4, RFC 9110 §14.3); the newer part's
// bytes win where they overlap. ok is false when a gap separates them.
func CombineParts(old ByteRange, oldBody []byte, nw ByteRange, newBody []byte) (ByteRange, []byte, bool) {
	if nw.First > old.Last+1 || old.First > nw.Last+1 {
		return ByteRange{}, nil, false
	}
	out := ByteRange{First: min(old.First, nw.First), Last: max(old.Last, nw.Last)}
	body := make([]byte, out.Len())
	copy(body[old.First-out.First:], oldBody)
	copy(body[nw.First-out.First:], newBody)
	return out, body, true
}

// CompletionRange is the Range to ask for to complete a stored part of
// size bytes with one request: the bytes after it when it starts the
// representation, the bytes before it when it ends it; "" otherwise.
func CompletionRange(part ByteRange, size int64) string {
	switch {
	case part.First == 0 && part.Last < size-1:
		return "bytes=" + itoa(part.Last+1) + "-"
	case part.Last == size-1 && part.First > 0:
		return "bytes=0-" + itoa(part.First-1)
	}
	return ""
}
