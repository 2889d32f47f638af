package webserver

import (
	"net/http"
	"strings"
	"time"
)

// Conditional requests (RFC 9110 §13), ported from net/http's ServeContent
// into pure functions so that both engines answer them the same way and
// they are table-tested without a socket.

// conditions are a request's precondition fields and its Range.
type conditions struct {
	ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince, ifRange, rng string
}

// readConditions reads the fields from h.
func readConditions(h headerReader) conditions {
	return conditions{
		ifMatch:           h.get("If-Match"),
		ifNoneMatch:       h.get("If-None-Match"),
		ifModifiedSince:   h.get("If-Modified-Since"),
		ifUnmodifiedSince: h.get("If-Unmodified-Since"),
		ifRange:           h.get("If-Range"),
		rng:               h.get("Range"),
	}
}

// none reports whether the request asks for the whole representation
// unconditionally.
func (c conditions) none() bool { return c == conditions{} }

// condResult is one precondition's outcome: absent (or not applicable),
// true, or false.
type condResult int

const (
	condNone condResult = iota
	condTrue
	condFalse
)

// evalConditions applies a request's preconditions to a representation
// with validator etag (strong, quoted) and modification time modtime, in
// RFC 9110 §13.2.2's order. It returns the status that ends the exchange
// (304, 412) or 0 to go on, and the Range field to honour ("" when there
// is none or If-Range does not hold, §13.1.5: then the whole
// representation is sent).
func evalConditions(method string, c conditions, etag string, modtime time.Time) (status int, rng string) {
	// Steps 1-2: If-Match, else If-Unmodified-Since (§13.1.1, §13.1.4).
	ch := checkIfMatch(c.ifMatch, etag)
	if ch == condNone {
		ch = checkIfUnmodifiedSince(c.ifUnmodifiedSince, modtime)
	}
	if ch == condFalse {
		return http.StatusPreconditionFailed, ""
	}
	// Steps 3-4: If-None-Match, else If-Modified-Since for GET and HEAD
	// (§13.1.2, §13.1.3).
	switch checkIfNoneMatch(c.ifNoneMatch, etag) {
	case condFalse:
		if method == http.MethodGet || method == http.MethodHead {
			return http.StatusNotModified, ""
		}
		return http.StatusPreconditionFailed, ""
	case condNone:
		if checkIfModifiedSince(method, c.ifModifiedSince, modtime) == condFalse {
			return http.StatusNotModified, ""
		}
	}
	// Step 5: If-Range decides whether Range applies (§13.1.5).
	if c.rng != "" && checkIfRange(method, c.ifRange, etag, modtime) == condFalse {
		return 0, ""
	}
	return 0, c.rng
}

// checkIfMatch: true when any listed entity tag matches strongly, or "*"
// (§13.1.1; a weak tag never matches here).
func checkIfMatch(im, etag string) condResult {
	if im == "" {
		return condNone
	}
	for {
		im = trimOWS(im)
		if im == "" {
			break
		}
		if im[0] == ',' {
			im = im[1:]
			continue
		}
		if im[0] == '*' {
			return condTrue
		}
		tag, rest := scanETag(im)
		if tag == "" {
			break
		}
		if etagStrongMatch(tag, etag) {
			return condTrue
		}
		im = rest
	}
	return condFalse
}

// checkIfUnmodifiedSince: true when the representation has not changed
// since the date (§13.1.4); ignored when the date does not parse or there
// is no modification time.
func checkIfUnmodifiedSince(ius string, modtime time.Time) condResult {
	if ius == "" || isZeroTime(modtime) {
		return condNone
	}
	t, err := http.ParseTime(ius)
	if err != nil {
		return condNone
	}
	// Last-Modified has whole seconds, so the comparison does too.
	if modtime.Truncate(time.Second).Compare(t) <= 0 {
		return condTrue
	}
	return condFalse
}

// checkIfNoneMatch: false when any listed entity tag matches weakly, or
// "*" (§13.1.2).
func checkIfNoneMatch(inm, etag string) condResult {
	if inm == "" {
		return condNone
	}
	for {
		inm = trimOWS(inm)
		if inm == "" {
			break
		}
		if inm[0] == ',' {
			inm = inm[1:]
			continue
		}
		if inm[0] == '*' {
			return condFalse
		}
		tag, rest := scanETag(inm)
		if tag == "" {
			break
		}
		if etagWeakMatch(tag, etag) {
			return condFalse
		}
		inm = rest
	}
	return condTrue
}

// checkIfModifiedSince: false when the representation has not changed
// since the date (§13.1.3); only GET and HEAD, and ignored when the date
// does not parse.
func checkIfModifiedSince(method, ims string, modtime time.Time) condResult {
	if method != http.MethodGet && method != http.MethodHead {
		return condNone
	}
	if ims == "" || isZeroTime(modtime) {
		return condNone
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return condNone
	}
	if modtime.Truncate(time.Second).Compare(t) <= 0 {
		return condFalse
	}
	return condTrue
}

// checkIfRange: true when the entity tag matches strongly or the date is
// exactly the modification time (§13.1.5); anything else is false, and
// the whole representation is sent.
func checkIfRange(method, ir, etag string, modtime time.Time) condResult {
	if method != http.MethodGet && method != http.MethodHead {
		return condNone
	}
	if ir == "" {
		return condNone
	}
	if tag, _ := scanETag(ir); tag != "" {
		if etagStrongMatch(tag, etag) {
			return condTrue
		}
		return condFalse
	}
	if modtime.IsZero() {
		return condFalse
	}
	t, err := http.ParseTime(ir)
	if err != nil || t.Unix() != modtime.Unix() {
		return condFalse
	}
	return condTrue
}

// scanETag reads one entity tag (§8.8.3: W/"..." or "...") from the start
// of s, returning it and the rest; "" when s does not start with one.
func scanETag(s string) (etag, rest string) {
	s = trimOWS(s)
	start := 0
	if strings.HasPrefix(s, "W/") {
		start = 2
	}
	if len(s[start:]) < 2 || s[start] != '"' {
		return "", ""
	}
	for i := start + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0x21 || c >= 0x23 && c <= 0x7e || c >= 0x80: // etagc
		case c == '"':
			return s[:i+1], s[i+1:]
		default:
			return "", ""
		}
	}
	return "", ""
}

// etagStrongMatch is §8.8.3.2's strong comparison: both strong and equal.
func etagStrongMatch(a, b string) bool { return a == b && a != "" && a[0] == '"' }

// etagWeakMatch is §8.8.3.2's weak comparison: equal once W/ is dropped.
func etagWeakMatch(a, b string) bool {
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}

// trimOWS drops optional whitespace (§5.6.3) around s.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

var unixEpoch = time.Unix(0, 0)

// isZeroTime reports whether t is unset (zero or the Unix epoch): such a
// time is never sent as Last-Modified nor compared.
func isZeroTime(t time.Time) bool { return t.IsZero() || t.Equal(unixEpoch) }
