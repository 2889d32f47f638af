package capture

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// HTTP/1.x summary on plain-text flows: requests are recognised by a method
// at the start of a new data segment, responses by "HTTP/1.x NNN". A
// pipelined message that does not start a segment is not counted.

const (
	httpMaxKeys    = 16 // distinct methods and status codes kept per flow
	httpMaxSamples = 5  // request lines kept per flow
	httpMaxLine    = 120
)

var httpMethods = [...]string{"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"}

type httpState struct {
	requests  int64
	responses int64
	methods   map[string]int64
	statuses  map[int]int64
	samples   []string
}

func (a *Analyzer) httpSegment(f *flow, d int, payload []byte) {
	if len(payload) < 12 {
		return
	}
	if method := httpMethod(payload); method != "" {
		h := f.tcp.httpInit()
		h.requests++
		if _, ok := h.methods[method]; ok || len(h.methods) < httpMaxKeys {
			h.methods[method]++
		}
		if len(h.samples) < httpMaxSamples {
			line := payload
			if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
				line = line[:i]
			}
			if len(line) > httpMaxLine {
				line = line[:httpMaxLine]
			}
			h.samples = append(h.samples, printable(line))
		}
		return
	}
	if code, ok := httpStatus(payload); ok {
		h := f.tcp.httpInit()
		h.responses++
		if _, ok := h.statuses[code]; ok || len(h.statuses) < httpMaxKeys {
			h.statuses[code]++
		}
	}
}

func (s *tcpState) httpInit() *httpState {
	if s.http == nil {
		s.http = &httpState{methods: map[string]int64{}, statuses: map[int]int64{}}
	}
	return s.http
}

// httpMethod returns the method when b starts like an HTTP/1.x request line
// ("GET /x HTTP/1.1").
func httpMethod(b []byte) string {
	for _, m := range httpMethods {
		if len(b) > len(m)+1 && string(b[:len(m)]) == m && b[len(m)] == ' ' {
			line := b
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			if bytes.Contains(line, []byte(" HTTP/1.")) {
				return m
			}
			return ""
		}
	}
	return ""
}

// httpStatus parses the status code of a response starting with "HTTP/1.x NNN".
func httpStatus(b []byte) (int, bool) {
	if len(b) < 12 || string(b[:7]) != "HTTP/1." || b[8] != ' ' {
		return 0, false
	}
	code, err := strconv.Atoi(string(b[9:12]))
	if err != nil || code < 100 || code > 999 {
		return 0, false
	}
	return code, true
}

// printable makes capture bytes safe to print on a terminal: invalid UTF-8
// and control characters (escape sequences from a hostile capture) become "?".
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, string(b))
}
