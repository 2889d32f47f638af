package webserver

import (
	"io"
	"net"
	"os"
	"time"
)

// request is what the handler reads of a request, whichever engine parsed
// it (fasthttp for plain HTTP/1.1, net/http for TLS and HTTP/2). Its
// strings may alias the engine's buffers: they are valid until the handler
// returns and must be copied (strings.Clone) by anything that keeps them.
type request struct {
	method   string
	path     string // the path, percent-decoded exactly once
	rawQuery string
	uri      string // the request target as sent (access log)
	proto    string
	remote   string   // host:port, when the engine has it as a string
	addr     net.Addr // else the address, formatted only if logged
	header   headerReader
	at       time.Time // when it was read (the access log's time)
}

// headerReader looks up a request header field; "" when it is absent.
type headerReader interface {
	get(name string) string
}

var (
	_ headerReader = netHeader(nil)
	_ headerReader = fastHeader{}
	_ headerReader = fixedHeader{}
)

// field is one response header field.
type field struct{ k, v string }

// maxFields bounds the header fields a reply carries; the handler sets at
// most about a dozen.
const maxFields = 16

// reply is a response as the handler decides it; the engine writes it out.
// Content-Length is the engine's: it comes from the body. Header values
// must outlive the handler (constants, cached strings, or new strings).
type reply struct {
	status int
	fields [maxFields]field
	nf     int
	// The body: body, or stream when it is not nil (size bytes of it; an
	// *os.File positioned at its start goes out with sendfile(2)). The
	// engine closes a stream that is an io.Closer once it is written, or
	// not (HEAD, an error).
	body   []byte
	stream io.Reader
	size   int64
}

func (r *reply) index(k string) int {
	for i := range r.nf {
		if r.fields[i].k == k {
			return i
		}
	}
	return -1
}

// set replaces the field k, or adds it.
func (r *reply) set(k, v string) {
	if i := r.index(k); i >= 0 {
		r.fields[i].v = v
		return
	}
	r.add(k, v)
}

// add adds a field; beyond maxFields it is dropped (unreachable: the
// handler sets fewer).
func (r *reply) add(k, v string) {
	if r.nf < maxFields {
		r.fields[r.nf] = field{k, v}
		r.nf++
	}
}

func (r *reply) get(k string) string {
	if i := r.index(k); i >= 0 {
		return r.fields[i].v
	}
	return ""
}

// del removes every field k.
func (r *reply) del(k string) {
	n := 0
	for i := range r.nf {
		if r.fields[i].k != k {
			r.fields[n] = r.fields[i]
			n++
		}
	}
	r.nf = n
}

// setBody makes b the body.
func (r *reply) setBody(b []byte) { r.body, r.stream, r.size = b, nil, int64(len(b)) }

// setStream makes n bytes of rd the body.
func (r *reply) setStream(rd io.Reader, n int64) { r.body, r.stream, r.size = nil, bounded(rd, n), n }

// bounded keeps a writer from taking more than n bytes of rd: fasthttp
// hands a reader with a WriteTo (bytes.Reader) all it has, and a reader
// seeked into a range has more than the range after it. A file stays
// itself (fasthttp bounds it and keeps sendfile), and so does the
// generated body (its WriteTo stops at its size).
func bounded(rd io.Reader, n int64) io.Reader {
	switch rd.(type) {
	case *os.File, *generated:
		return rd
	case io.WriterTo:
		return &limitedCloser{LimitedReader: io.LimitedReader{R: rd, N: n}}
	}
	return rd
}

// limitedCloser is an io.LimitedReader that closes what it reads from.
type limitedCloser struct{ io.LimitedReader }

func (l *limitedCloser) Close() error { closeContent(l.R); return nil }

// release closes a stream that was not written.
func (r *reply) release() {
	if c, ok := r.stream.(io.Closer); ok {
		c.Close()
	}
	r.stream = nil
}

// bodyBytes is what the body sends for method: nothing for HEAD or a
// status that has no body (RFC 9110 §6.4.1).
func (r *reply) bodyBytes(method string) int64 {
	if method == "HEAD" || r.status == 304 || r.status == 204 || r.status < 200 {
		return 0
	}
	return r.size
}
