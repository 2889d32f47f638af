package webserver

import (
	"crypto/rand"
	"io"
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

// selectRanges decides what a Range field selects from a representation
// of size bytes (RFC 9110 §14.2), the way net/http's ServeContent did: no
// field, or one with no range in it, is the whole representation (200);
// a field that does not parse, or whose ranges are all unsatisfiable,
// is a 416 (§15.5.17), except on an empty representation, which is sent
// whole; else 206 with the ranges. Several ranges are coalesced when they
// overlap, touch, or are separated by less than the overhead of another
// part, in ascending order as §15.3.7.2 allows whatever their order in
// the request, so a response is never larger than the representation plus
// one part's overhead; more than MaxRanges after that, and the field is
// ignored (a full 200). Without this, 1,000 × "bytes=0-0" made 140 KB of
// parts from a 2,000-byte file.
func selectRanges(h string, size int64, ctype string) ([]byteRange, int) {
	if h == "" {
		return nil, http.StatusOK
	}
	ranges, ok := parseRanges(h, size)
	switch {
	case !ok:
		return nil, http.StatusRequestedRangeNotSatisfiable
	case len(ranges) == 0 && (size == 0 || strings.Trim(h[len("bytes="):], " \t,") == ""):
		return nil, http.StatusOK
	case len(ranges) == 0:
		return nil, http.StatusRequestedRangeNotSatisfiable
	case len(ranges) == 1:
		return ranges, http.StatusPartialContent
	}
	ranges = coalesce(ranges, partOverhead(size, ctype))
	if len(ranges) > MaxRanges {
		return nil, http.StatusOK
	}
	return ranges, http.StatusPartialContent
}

// partOverhead is what one more part of a multipart/byteranges body
// costs: its boundary line and its two header fields.
func partOverhead(size int64, ctype string) int64 {
	digits := int64(len(strconv.FormatInt(size, 10)))
	return 110 + 3*digits + int64(len(ctype))
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

// contentRange is the Content-Range value of rg (§14.4).
func (rg byteRange) contentRange(size int64) string {
	return "bytes " + strconv.FormatInt(rg.first, 10) + "-" + strconv.FormatInt(rg.last, 10) + "/" + strconv.FormatInt(size, 10)
}

func (rg byteRange) length() int64 { return rg.last - rg.first + 1 }

// multipartBody lays out a multipart/byteranges body (RFC 9110 §14.6) of
// ranges of content: the part heads in memory, the parts read from content
// in order. It returns the body, its exact length, and the boundary.
func multipartBody(content io.ReadSeeker, ranges []byteRange, size int64, ctype string) (io.Reader, int64, string) {
	boundary := rand.Text() + rand.Text()[:4]
	var readers []io.Reader
	var total int64
	for i, rg := range ranges {
		var head strings.Builder
		if i > 0 {
			head.WriteString("\r\n")
		}
		head.WriteString("--" + boundary + "\r\nContent-Range: " + rg.contentRange(size) + "\r\n")
		if ctype != "" {
			head.WriteString("Content-Type: " + ctype + "\r\n")
		}
		head.WriteString("\r\n")
		readers = append(readers, strings.NewReader(head.String()), &section{rs: content, off: rg.first, n: rg.length()})
		total += int64(head.Len()) + rg.length()
	}
	tail := "\r\n--" + boundary + "--\r\n"
	readers = append(readers, strings.NewReader(tail))
	total += int64(len(tail))
	return &closingReader{Reader: io.MultiReader(readers...), c: content}, total, boundary
}

// section reads n bytes of rs from off, seeking on its first read: the
// parts of a multipart body are read one after the other.
type section struct {
	rs     io.ReadSeeker
	off, n int64
	seeked bool
}

func (s *section) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, io.EOF
	}
	if !s.seeked {
		if _, err := s.rs.Seek(s.off, io.SeekStart); err != nil {
			return 0, err
		}
		s.seeked = true
	}
	if int64(len(p)) > s.n {
		p = p[:s.n]
	}
	n, err := s.rs.Read(p)
	s.n -= int64(n)
	if err == io.EOF && s.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// closingReader closes the content under a multipart body once written.
type closingReader struct {
	io.Reader
	c any
}

func (r *closingReader) Close() error {
	if c, ok := r.c.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
