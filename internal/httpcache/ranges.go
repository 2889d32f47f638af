package httpcache

import (
	"strconv"
	"strings"
)

// ByteRange is a satisfiable byte range, both ends inclusive.
type ByteRange struct{ First, Last int64 }

// Len is the number of bytes in r.
func (r ByteRange) Len() int64 { return r.Last - r.First + 1 }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ContentRange renders r of a representation of size bytes as a
// Content-Range value (RFC 9110 §14.4).
func (r ByteRange) ContentRange(size int64) string {
	return "bytes " + strconv.FormatInt(r.First, 10) + "-" + strconv.FormatInt(r.Last, 10) + "/" + strconv.FormatInt(size, 10)
}

// maxRanges bounds the ranges one Range field may ask for.
const maxRanges = 64

// ParseRange resolves a Range field value (RFC 9110 §14.1.2) against a
// representation of size bytes: byte-range (first-last), open-ended
// (first-) and suffix (-n) forms. ok is false when the field is to be
// ignored — another unit, bad syntax, too many ranges — and the full
// response sent (§14.2); ok with no ranges means none is satisfiable (416).
func ParseRange(v string, size int64) (rs []ByteRange, ok bool) {
	unit, set, found := strings.Cut(strings.TrimSpace(v), "=")
	if !found || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return nil, false
	}
	specs := splitList(set)
	if len(specs) == 0 || len(specs) > maxRanges {
		return nil, false
	}
	for _, spec := range specs {
		if spec == "" {
			continue
		}
		first, last, hasDash := strings.Cut(spec, "-")
		if !hasDash {
			return nil, false
		}
		r, satisfiable, valid := resolveRange(first, last, size)
		if !valid {
			return nil, false
		}
		if satisfiable {
			rs = append(rs, r)
		}
	}
	return rs, true
}

// resolveRange resolves one range-spec; valid is false on bad syntax.
func resolveRange(first, last string, size int64) (r ByteRange, satisfiable, valid bool) {
	if first == "" { // suffix-range: the last n bytes
		n, ok := digits(last)
		if !ok {
			return r, false, false
		}
		if n == 0 || size == 0 {
			return r, false, true
		}
		return ByteRange{First: max(0, size-n), Last: size - 1}, true, true
	}
	f, ok := digits(first)
	if !ok {
		return r, false, false
	}
	l := int64(-1)
	if last != "" {
		if l, ok = digits(last); !ok || l < f {
			return r, false, false
		}
	}
	if f >= size {
		return r, false, true
	}
	if l < 0 || l >= size {
		l = size - 1
	}
	return ByteRange{First: f, Last: l}, true, true
}

// digits parses a non-empty run of ASCII digits (at most 18).
func digits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// IfRangeAllows reports whether a request's If-Range (RFC 9110 §13.1.5)
// lets a Range be applied to the stored response: absent, a strong entity
// tag equal to the stored strong ETag, or an HTTP-date equal to the stored
// Last-Modified. Otherwise the full response is sent.
func IfRangeAllows(req, stored Header) bool {
	v := strings.TrimSpace(get(req, "If-Range"))
	if v == "" {
		return true
	}
	if strings.HasPrefix(v, `"`) {
		etag := get(stored, "Etag")
		return !strings.HasPrefix(etag, "W/") && etag == v
	}
	if strings.HasPrefix(v, "W/") {
		return false // a weak tag never matches (§13.1.5)
	}
	d, ok := ParseHTTPDate(v)
	lm, lmOK := ParseHTTPDate(get(stored, "Last-Modified"))
	return ok && lmOK && d.Equal(lm)
}
