package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
)

// codingField carries, from teConn to the proxy, the transfer codings of
// a response that net/http's client would have rejected. teConn removes
// any such field an upstream sends itself, so it cannot be forged.
const codingField = "Socklab-Transfer-Coding"

// maxRewriteHeader bounds the response header teConn looks at; a larger one
// passes through untouched.
const maxRewriteHeader = 64 << 10

// teConn sits under net/http's client on upstream connections and rewrites
// the Transfer-Encoding of response headers into a form the client takes.
// RFC 9112 §6.1 allows a list of codings ("gzip, chunked"), several field
// lines, or codings without a final chunked (the body then runs to the
// connection's close, §6.3); net/http takes only a lone "chunked" and
// fails the rest, which made such responses a 502. Rewritten:
//
//   - codings before a final chunked: "Transfer-Encoding: chunked", the
//     others named in codingField;
//   - no final chunked: Transfer-Encoding and Content-Length dropped,
//     Connection: close added (the close delimits the body), the codings
//     in codingField.
//
// The proxy then decodes the codings it knows (gzip, deflate) or relays
// the others as they are, and stores neither the field nor a coded body.
type teConn struct {
	net.Conn
	armed   atomic.Bool // the next bytes read begin a response header
	hdr     []byte      // header bytes collected so far
	pending []byte      // bytes ready for Read
}

// Write arms header inspection when a request line goes out. net/http
// writes no request before the previous response was read in full.
func (c *teConn) Write(b []byte) (int, error) {
	if looksLikeRequestLine(b) {
		c.armed.Store(true)
	}
	return c.Conn.Write(b)
}

func looksLikeRequestLine(b []byte) bool {
	line, _, ok := bytes.Cut(b, []byte("\r\n"))
	return ok && bytes.HasSuffix(line, []byte(" HTTP/1.1")) && bytes.IndexByte(line, ' ') > 0
}

func (c *teConn) Read(b []byte) (int, error) {
	for len(c.pending) == 0 {
		n, err := c.Conn.Read(b)
		// A read that started before the request was written (the
		// client's idle-connection peek) returns header bytes too, so
		// armed is looked at after the read.
		if n == 0 || !c.armed.Load() && len(c.hdr) == 0 {
			return n, err
		}
		if len(c.hdr) == 0 && plainHeader(b[:n]) {
			c.armed.Store(false) // the common case: nothing to rewrite, no copy
			return n, err
		}
		c.hdr = append(c.hdr, b[:n]...)
		if err != nil {
			c.flushHeader()
			return c.drain(b, err)
		}
		c.scan()
	}
	return c.drain(b, nil)
}

// plainHeader reports whether b starts with a whole final response header
// that needs no rewriting.
func plainHeader(b []byte) bool {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 || interimHeader(b[:end]) {
		return false
	}
	head := b[:end+4]
	return !containsFold(head, "transfer-encoding") && !containsFold(head, codingField)
}

// drain returns pending bytes, then err once none are left.
func (c *teConn) drain(b []byte, err error) (int, error) {
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	if len(c.pending) > 0 {
		return n, nil
	}
	return n, err
}

// flushHeader gives up on the header being collected: it passes as is.
func (c *teConn) flushHeader() {
	c.pending = append(c.pending, c.hdr...)
	c.hdr = nil
	c.armed.Store(false)
}

// scan processes complete headers in c.hdr: interim (1xx) ones keep the
// inspection armed for the final one that follows.
func (c *teConn) scan() {
	for len(c.hdr) > 0 {
		end := bytes.Index(c.hdr, []byte("\r\n\r\n"))
		if end < 0 {
			if len(c.hdr) > maxRewriteHeader {
				c.flushHeader()
			}
			return
		}
		head, rest := c.hdr[:end+4], c.hdr[end+4:]
		c.pending = append(c.pending, rewriteTE(head)...)
		c.hdr = nil
		if !interimHeader(head) {
			c.armed.Store(false)
			c.pending = append(c.pending, rest...)
			return
		}
		c.hdr = append([]byte(nil), rest...)
	}
}

// containsFold reports whether s contains the ASCII string sub, ignoring
// case.
func containsFold(s []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if asciiEqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func asciiEqualFold(b []byte, s string) bool {
	for i := range len(s) {
		x, y := b[i]|0x20, s[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

func interimHeader(head []byte) bool {
	_, after, ok := bytes.Cut(head, []byte(" "))
	return ok && len(after) >= 3 && after[0] == '1'
}

// rewriteTE returns the header block head with its Transfer-Encoding in a
// form net/http accepts (see teConn), or head itself when it already is.
func rewriteTE(head []byte) []byte {
	if !containsFold(head, "transfer-encoding") && !containsFold(head, codingField) {
		return head // the common case, without allocating
	}
	lines := strings.Split(strings.TrimSuffix(string(head), "\r\n\r\n"), "\r\n")
	var codings []string
	teLines, forged := 0, false
	for _, l := range lines[1:] {
		name, v, _ := strings.Cut(l, ":")
		switch http.CanonicalHeaderKey(strings.TrimSpace(name)) {
		case "Transfer-Encoding":
			teLines++
			for _, c := range strings.Split(v, ",") {
				if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
					codings = append(codings, c)
				}
			}
		case codingField:
			forged = true
		}
	}
	http10 := strings.HasPrefix(lines[0], "HTTP/1.0")
	if !forged && (teLines == 0 || http10 || teLines == 1 && len(codings) == 1 && codings[0] == "chunked") {
		return head
	}
	chunked := len(codings) > 0 && codings[len(codings)-1] == "chunked"
	if chunked {
		codings = codings[:len(codings)-1]
	}
	var inner []string
	for _, c := range codings {
		if c != "identity" && c != "chunked" {
			inner = append(inner, c)
		}
	}
	var b strings.Builder
	b.WriteString(lines[0] + "\r\n")
	for _, l := range lines[1:] {
		name, _, _ := strings.Cut(l, ":")
		switch http.CanonicalHeaderKey(strings.TrimSpace(name)) {
		case "Transfer-Encoding", codingField:
			continue
		case "Content-Length":
			if teLines > 0 && !http10 {
				continue // Transfer-Encoding overrides it (RFC 9112 §6.3)
			}
		}
		b.WriteString(l + "\r\n")
	}
	switch {
	case teLines == 0 || http10:
	case chunked:
		b.WriteString("Transfer-Encoding: chunked\r\n")
	default:
		b.WriteString("Connection: close\r\n")
	}
	if len(inner) > 0 && !http10 {
		b.WriteString(codingField + ": " + strings.Join(inner, ", ") + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// decodeTransferCodings undoes the transfer codings teConn reported for
// resp, innermost last (RFC 9112 §7): gzip and deflate are decoded on the
// wire. It returns the codings it could not decode, in order; the body is
// then left coded and the caller relays it under those codings, unstored.
func decodeTransferCodings(resp *http.Response) (unknown []string) {
	v := resp.Header.Get(codingField)
	if v == "" {
		return nil
	}
	resp.Header.Del(codingField)
	codings := strings.Split(v, ",")
	for i := range codings {
		codings[i] = strings.TrimSpace(codings[i])
	}
	for _, c := range codings {
		if c != "gzip" && c != "x-gzip" && c != "deflate" {
			return codings // one unknown: leave them all applied
		}
	}
	body := resp.Body
	var r io.Reader = body
	for i := len(codings) - 1; i >= 0; i-- {
		switch codings[i] {
		case "gzip", "x-gzip":
			r = &lazyGzip{src: r}
		case "deflate":
			r = flate.NewReader(r)
		}
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{r, body}
	resp.ContentLength = -1
	return nil
}

// lazyGzip opens the gzip stream on first read, so an error in its header
// surfaces as a body error (the response is cut, never stored).
type lazyGzip struct {
	src io.Reader
	zr  *gzip.Reader
}

func (g *lazyGzip) Read(b []byte) (int, error) {
	if g.zr == nil {
		zr, err := gzip.NewReader(g.src)
		if err != nil {
			return 0, err
		}
		g.zr = zr
	}
	return g.zr.Read(b)
}
