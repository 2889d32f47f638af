// Package httpframe decides where HTTP/1.1 request messages begin and end
// on a connection, before net/http parses them, and refuses every request
// whose framing two parsers could read differently (RFC 9112 §6.1, §6.3,
// §7.1): the root of request smuggling. net/http on its own drops
// Content-Length when Transfer-Encoding is present, and accepts obs-fold,
// so a request can carry a second one that a front or back server sees and
// the other does not.
//
// The scanners here (Scan, ChunkScanner) are pure and fuzzed; package
// guard applies them to a listener's connections and lets a handler answer
// what they refuse (400, or 431 for header limits) as a normal response.
package httpframe

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Defaults for zero Limits fields: nginx's and Apache's order of magnitude
// (Apache's LimitRequestFields is 100; serve's MaxHeaderBytes is 64 KiB).
const (
	DefaultMaxHeaderBytes = 64 << 10
	DefaultMaxFields      = 100
)

// Limits bound a request head; beyond them it gets 431 (RFC 6585 §5).
type Limits struct {
	// MaxHeaderBytes bounds the request line and header section, the
	// blank line included. Zero: DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// MaxFields bounds the number of header field lines. Zero:
	// DefaultMaxFields.
	MaxFields int
}

// WithDefaults returns l with zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	return l
}

// Framing is how a request's body is delimited.
type Framing int

const (
	NoBody  Framing = iota // neither Content-Length nor Transfer-Encoding
	Length                 // Content-Length bytes
	Chunked                // chunked transfer coding, last of Transfer-Encoding
)

// Head is what Scan learned of a complete request head.
type Head struct {
	Len            int // bytes of the head, the terminating blank line included
	Framing        Framing
	ContentLength  int64
	Method, Target string
	Proto          string // "HTTP/1.1", as sent
	Host           string // first Host field value
	ExpectContinue bool   // Expect: 100-continue
	// Tunnel: CONNECT, or an Upgrade field: if the server agrees, the
	// bytes after this request are no longer HTTP/1.1.
	Tunnel bool
}

// Error is a request refused for its framing or size, with the status to
// answer it with.
type Error struct {
	Status int // 400 or 431
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Reason) }

// ErrIncomplete means the head has not ended yet and is within the limits.
var ErrIncomplete = errors.New("request head incomplete")

// Bad is a 400 refusal.
func Bad(format string, a ...any) *Error {
	return &Error{Status: 400, Reason: fmt.Sprintf(format, a...)}
}

func tooLarge(format string, a ...any) *Error {
	return &Error{Status: 431, Reason: fmt.Sprintf(format, a...)}
}

// Scan reads the request head at the start of b. It returns ErrIncomplete
// when more bytes are needed, an *Error when the request must be refused,
// and the Head otherwise. Lines end at LF with an optional CR before it, as
// net/http reads them, so both agree on where the head ends.
func Scan(b []byte, lim Limits) (Head, error) {
	lim = lim.WithDefaults()
	var h Head
	pos := 0
	// RFC 9112 §2.2: empty lines before the request line may be ignored.
	for {
		if bytes.HasPrefix(b[pos:], []byte("\n")) {
			pos++
		} else if bytes.HasPrefix(b[pos:], []byte("\r\n")) {
			pos += 2
		} else {
			break
		}
	}
	var f fields
	first := true
	for {
		nl := bytes.IndexByte(b[pos:], '\n')
		if nl < 0 {
			if len(b) > lim.MaxHeaderBytes {
				return h, tooLarge("request header larger than %d bytes", lim.MaxHeaderBytes)
			}
			return h, ErrIncomplete
		}
		line := b[pos : pos+nl]
		pos += nl + 1
		if pos > lim.MaxHeaderBytes {
			return h, tooLarge("request header larger than %d bytes", lim.MaxHeaderBytes)
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if bytes.IndexByte(line, '\r') >= 0 {
			return h, Bad("bare CR in the request head") // RFC 9112 §2.2
		}
		if first {
			first = false
			h.Method, h.Target, h.Proto = RequestLine(string(line))
			continue
		}
		if len(line) == 0 {
			break
		}
		if f.count++; f.count > lim.MaxFields {
			return h, tooLarge("more than %d header fields", lim.MaxFields)
		}
		if err := f.add(line, &h); err != nil {
			return h, err
		}
	}
	h.Len = pos
	return h, f.framing(&h)
}

// RequestLine splits a request line the way net/http does (at the first
// two spaces); net/http itself refuses what is malformed.
func RequestLine(s string) (method, target, proto string) {
	method, rest, _ := strings.Cut(s, " ")
	target, proto, _ = strings.Cut(rest, " ")
	return method, target, proto
}

// before11 reports whether proto is an HTTP version below 1.1, read as
// net/http's ParseHTTPVersion reads it ("HTTP/" digit "." digit).
func before11(proto string) bool {
	if len(proto) != len("HTTP/1.1") || !strings.HasPrefix(proto, "HTTP/") || proto[6] != '.' {
		return false
	}
	major, minor := proto[5], proto[7]
	if major < '0' || major > '9' || minor < '0' || minor > '9' {
		return false
	}
	return major < '1' || major == '1' && minor < '1'
}

// fields accumulates the framing fields of one head.
type fields struct {
	count  int
	cl     int64 // -1 until a Content-Length is seen
	clSeen bool
	te     []string // transfer codings, in order, lowercase
	teSeen bool
}

func (f *fields) add(line []byte, h *Head) error {
	if line[0] == ' ' || line[0] == '\t' {
		// RFC 9112 §5.2: obs-fold is either rejected or replaced; a proxy
		// that forwards it lets the next hop read it differently.
		return Bad("obs-fold (a header line continued on the next)")
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return Bad("header line without a field name")
	}
	name := line[:colon]
	if bytes.ContainsAny(name, " \t") {
		return Bad("whitespace in or after the field name %q", name) // RFC 9112 §5.1
	}
	// Only the few fields that matter here are turned into strings.
	value := func() string { return strings.Trim(string(line[colon+1:]), " \t") }
	switch {
	case eqFold(name, "Content-Length"):
		return f.contentLength(value())
	case eqFold(name, "Transfer-Encoding"):
		f.teSeen = true
		for _, c := range strings.Split(value(), ",") {
			c, _, _ = strings.Cut(c, ";")
			if c = strings.ToLower(strings.Trim(c, " \t")); c != "" {
				f.te = append(f.te, c)
			}
		}
	case eqFold(name, "Expect"):
		h.ExpectContinue = h.ExpectContinue || strings.EqualFold(value(), "100-continue")
	case eqFold(name, "Upgrade"):
		h.Tunnel = true
	case eqFold(name, "Host"):
		if h.Host == "" {
			h.Host = value()
		}
	}
	return nil
}

// eqFold is ASCII case-insensitive equality of a field name with want.
func eqFold(name []byte, want string) bool {
	if len(name) != len(want) {
		return false
	}
	for i := range len(name) {
		a, b := name[i], want[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// contentLength checks one Content-Length line: a list of equal decimal
// values is one value (RFC 9110 §8.6); differing ones are refused.
func (f *fields) contentLength(value string) error {
	for _, m := range strings.Split(value, ",") {
		m = strings.Trim(m, " \t")
		if m == "" || len(m) > 18 || strings.Trim(m, "0123456789") != "" {
			return Bad("invalid Content-Length %q", value)
		}
		var n int64
		for _, d := range m {
			n = n*10 + int64(d-'0')
		}
		if f.clSeen && n != f.cl {
			return Bad("differing Content-Length values")
		}
		f.cl, f.clSeen = n, true
	}
	return nil
}

// framing decides the body's framing (RFC 9112 §6.1, §6.3).
func (f *fields) framing(h *Head) error {
	if strings.EqualFold(h.Method, "CONNECT") {
		h.Tunnel = true
	}
	if !f.teSeen {
		if f.clSeen {
			h.Framing, h.ContentLength = Length, f.cl
		}
		return nil
	}
	switch {
	case f.clSeen:
		return Bad("both Content-Length and Transfer-Encoding")
	case before11(h.Proto):
		// RFC 9112 §6.1: faulty framing; net/http would ignore the field.
		return Bad("Transfer-Encoding in an %s request", h.Proto)
	case len(f.te) == 0:
		return Bad("empty Transfer-Encoding")
	case f.te[len(f.te)-1] != "chunked":
		return Bad("Transfer-Encoding %q does not end in chunked", strings.Join(f.te, ", "))
	}
	for _, c := range f.te[:len(f.te)-1] {
		if c == "chunked" {
			return Bad("chunked applied more than once")
		}
	}
	h.Framing = Chunked
	return nil
}
