package webserver

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// MaxRanges is the most ranges a multipart/byteranges response carries,
// after coalescing (Apache's MaxRanges default). A request for more gets
// the whole representation as a plain 200, as Apache and nginx
// (max_ranges) answer: RFC 9110 §14.2 lets a server ignore a Range header,
// the client still gets what it asked for, and the response is no larger
// than the file. A 416 would refuse a request that has a valid answer.
const MaxRanges = 200

// byteRange is an inclusive range of offsets [first, last].
type byteRange struct{ first, last int64 }

// limitRanges rewrites a multi-range Range header before ServeContent sees
// it, so a response is never larger than the file plus one part's
// overhead: ranges that overlap, touch, or are separated by less than the
// overhead of another part are coalesced, in ascending order, as RFC 9110
// §15.3.7.2 allows whatever their order in the request; more than
// MaxRanges after that, and the header is dropped (a full 200). Without
// this, 1,000 × "bytes=0-0" made 140 KB of parts from a 2,000-byte file.
// A header that does not parse, or whose ranges are all unsatisfiable, is
// left for ServeContent to answer (ignored, or 416).
func limitRanges(r *http.Request, size int64, ctype string) {
	spec, ok := r.Header["Range"]
	if !ok || len(spec) != 1 || !strings.Contains(spec[0], ",") {
		return // absent, or a single range: nothing to amplify
	}
	ranges, ok := parseRanges(spec[0], size)
	if !ok || len(ranges) == 0 {
		return
	}
	// What one more part costs: its boundary line and its two headers.
	digits := int64(len(strconv.FormatInt(size, 10)))
	overhead := 110 + 3*digits + int64(len(ctype))
	ranges = coalesce(ranges, overhead)
	if len(ranges) > MaxRanges {
		r.Header.Del("Range")
		return
	}
	var b strings.Builder
	b.WriteString("bytes=")
	for i, rg := range ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(rg.first, 10))
		b.WriteByte('-')
		b.WriteString(strconv.FormatInt(rg.last, 10))
	}
	r.Header["Range"] = []string{b.String()}
}

// parseRanges parses a bytes Range header (RFC 9110 §14.1.2) against a
// representation of size bytes, dropping unsatisfiable ranges. ok is false
// when the header does not parse.
func parseRanges(h string, size int64) (out []byteRange, ok bool) {
	const prefix = "bytes="
	if !strings.HasPrefix(h, prefix) {
		return nil, false
	}
	for spec := range strings.SplitSeq(h[len(prefix):], ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		a, z, found := strings.Cut(spec, "-")
		if !found {
			return nil, false
		}
		a, z = strings.TrimSpace(a), strings.TrimSpace(z)
		var rg byteRange
		if a == "" { // suffix: the last z bytes
			n, err := strconv.ParseInt(z, 10, 64)
			if err != nil || n < 0 {
				return nil, false
			}
			if n == 0 || size == 0 {
				continue
			}
			rg = byteRange{max(size-n, 0), size - 1}
		} else {
			first, err := strconv.ParseInt(a, 10, 64)
			if err != nil || first < 0 {
				return nil, false
			}
			last := size - 1
			if z != "" {
				if last, err = strconv.ParseInt(z, 10, 64); err != nil || last < first {
					return nil, false
				}
			}
			if first >= size {
				continue // unsatisfiable
			}
			rg = byteRange{first, min(last, size-1)}
		}
		out = append(out, rg)
	}
	return out, true
}

// coalesce sorts ranges and merges those that overlap or lie closer than
// gap bytes apart.
func coalesce(ranges []byteRange, gap int64) []byteRange {
	slices.SortFunc(ranges, func(x, y byteRange) int {
		switch {
		case x.first < y.first:
			return -1
		case x.first > y.first:
			return 1
		}
		return 0
	})
	out := ranges[:1]
	for _, rg := range ranges[1:] {
		cur := &out[len(out)-1]
		if rg.first <= cur.last+1+gap {
			cur.last = max(cur.last, rg.last)
			continue
		}
		out = append(out, rg)
	}
	return out
}
