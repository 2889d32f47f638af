package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// The load engine's own HTTP/1.1 client. A load generator spends most of
// its CPU in the HTTP client, and on a small machine that CPU is taken from
// the server under test. net/http costs two extra goroutines and several
// channel hand-offs per connection and request; this client is one
// goroutine per connection that writes pre-serialised request bytes and
// parses the response in place, allocating nothing per request. It covers
// what a load run needs (keep-alive, Content-Length, chunked and
// read-to-close bodies, TLS, an HTTP proxy for http:// targets); anything
// else (https through a proxy, SOCKS, a caller's Transport) goes through
// net/http.

// ErrProtocol reports a response this client cannot parse.
var ErrProtocol = errors.New("malformed http response")

// h1Target is what every h1 connection of a run shares.
type h1Target struct {
	addr    string      // host:port to dial: the origin, or the proxy
	tls     *tls.Config // nil for plain http
	request []byte      // the serialised request, sent as is each time
	head    bool        // HEAD: responses have no body
	timeout time.Duration
}

// newH1Target serialises the request once. It returns ok=false when the
// request needs net/http (https through a proxy, or a non-http proxy).
func newH1Target(u *url.URL, method string, h http.Header, host, proxy string, insecure bool, timeout time.Duration) (*h1Target, bool, error) {
	t := &h1Target{addr: hostPortOf(u), head: method == http.MethodHead, timeout: timeout}
	target := u.RequestURI()
	var proxyAuth string
	if proxy != "" {
		pu, err := ParseProxy(proxy)
		if err != nil {
			return nil, false, err
		}
		if pu.Scheme != "http" || u.Scheme != "http" {
			return nil, false, nil
		}
		t.addr = hostPortOf(pu)
		// Absolute-form request target for a proxy (RFC 9112 §3.2.2).
		target = u.Scheme + "://" + u.Host + u.RequestURI()
		if pu.User != nil {
			pass, _ := pu.User.Password()
			proxyAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(pu.User.Username()+":"+pass))
		}
	}
	if u.Scheme == "https" {
		t.tls = &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: insecure, NextProtos: []string{"http/1.1"}} //nolint:gosec // opt-in flag
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	if host == "" {
		host = u.Host
	}
	fmt.Fprintf(&b, "Host: %s\r\n", host)
	if proxyAuth != "" {
		fmt.Fprintf(&b, "Proxy-Authorization: %s\r\n", proxyAuth)
	}
	if err := h.Write(&b); err != nil {
		return nil, false, err
	}
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		b.WriteString("Content-Length: 0\r\n")
	}
	b.WriteString("\r\n")
	t.request = b.Bytes()
	return t, true, nil
}

// setBody makes every request carry body, with its Content-Length, in
// place of the empty one newH1Target wrote.
func (t *h1Target) setBody(body []byte) {
	head := bytes.TrimSuffix(t.request, []byte("\r\n"))
	head = bytes.TrimSuffix(head, []byte("Content-Length: 0\r\n"))
	req := append([]byte(nil), head...)
	req = fmt.Appendf(req, "Content-Length: %d\r\n\r\n", len(body))
	t.request = append(req, body...)
}

func hostPortOf(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// h1Conn is one client's connection, redialled when the server closes it.
type h1Conn struct {
	t      *h1Target
	ctx    context.Context // cancelling it aborts the request in flight
	conn   net.Conn
	br     *bufio.Reader
	stop   func() bool // unregisters the context hook of conn
	served int         // responses read on conn
	// deadline is the I/O deadline last set on conn. Re-arming it costs a
	// runtime timer update, so roundTrip only moves it once it has fallen
	// more than timeout/deadlineSlack behind: each request still fails
	// within Timeout, and no sooner than Timeout·(1−1/deadlineSlack).
	deadline time.Time
	cache    http.Header // the cache headers of the last response, reused
}

func newH1Conn(ctx context.Context, t *h1Target) *h1Conn {
	return &h1Conn{t: t, ctx: ctx, cache: http.Header{}}
}

func (c *h1Conn) close() {
	if c.conn != nil {
		c.stop()
		c.conn.Close()
		c.conn = nil
	}
}

func (c *h1Conn) dial() error {
	d := net.Dialer{Timeout: c.t.timeout, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(c.ctx, "tcp", c.t.addr)
	if err != nil {
		return err
	}
	if c.t.tls != nil {
		tc := tls.Client(conn, c.t.tls)
		hctx, cancel := context.WithTimeout(c.ctx, c.t.timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return err
		}
		conn = tc
	}
	c.conn = conn
	c.stop = context.AfterFunc(c.ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 16<<10)
	} else {
		c.br.Reset(conn)
	}
	c.served = 0
	c.deadline = time.Time{}
	return nil
}

// deadlineSlack: see h1Conn.deadline.
const deadlineSlack = 16

// h1Response is what a load run keeps of a response.
type h1Response struct {
	status  int
	bytes   int64
	verdict string
}

// do sends the request and reads the whole response. A request on a reused
// connection that fails before any response byte arrived (the server closed
// the idle connection) is retried once on a fresh one, as net/http does for
// idempotent requests. now is the current time (the caller has just read
// the clock for the latency); it sets the I/O deadline.
func (c *h1Conn) do(now time.Time) (h1Response, error) {
	for attempt := 0; ; attempt++ {
		reused := c.conn != nil && c.served > 0
		if c.conn == nil {
			if err := c.dial(); err != nil {
				return h1Response{}, err
			}
			now = time.Now() // the dial took time
		}
		r, started, err := c.roundTrip(now)
		if err == nil {
			return r, nil
		}
		c.close()
		if !reused || started || attempt > 0 || c.ctx.Err() != nil {
			return r, err
		}
	}
}

// roundTrip does one exchange on the open connection; started reports
// whether any response byte was read.
func (c *h1Conn) roundTrip(now time.Time) (r h1Response, started bool, err error) {
	if dl := now.Add(c.t.timeout); dl.Sub(c.deadline) > c.t.timeout/deadlineSlack {
		if err := c.conn.SetDeadline(dl); err != nil {
			return r, false, err
		}
		c.deadline = dl
	}
	if _, err := c.conn.Write(c.t.request); err != nil {
		return r, false, err
	}
	r, keepAlive, started, err := c.readResponse()
	if err != nil {
		return r, started, err
	}
	c.served++
	if !keepAlive {
		c.close()
	}
	return r, true, nil
}

// readResponse reads one response from c.br, skipping interim 1xx ones
// (RFC 9110 §15.2), and discards its body (RFC 9112 §6.3 decides its
// length).
func (c *h1Conn) readResponse() (r h1Response, keepAlive, started bool, err error) {
	for {
		var length int64
		var chunked bool
		r.status, length, chunked, keepAlive, started, err = c.readHead()
		if err != nil {
			return r, false, started, err
		}
		if r.status < 200 && r.status != http.StatusSwitchingProtocols {
			continue
		}
		switch {
		case c.t.head || r.status == http.StatusNoContent || r.status == http.StatusNotModified || r.status < 200:
		case chunked:
			r.bytes, err = c.readChunked()
		case length >= 0:
			var n int
			n, err = c.br.Discard(int(length))
			r.bytes = int64(n)
		default: // the body runs to the end of the connection
			r.bytes, err = io.Copy(io.Discard, c.br)
			keepAlive = false
		}
		if err != nil {
			return r, false, true, err
		}
		if len(c.cache) > 0 {
			r.verdict = CacheVerdict(c.cache)
		}
		return r, keepAlive, true, nil
	}
}

// readHead reads the status line and the header fields.
func (c *h1Conn) readHead() (status int, length int64, chunked, keepAlive, started bool, err error) {
	line, err := c.br.ReadSlice('\n')
	if len(line) == 0 && err != nil {
		return 0, 0, false, false, false, err
	}
	started = true
	if err != nil {
		return 0, 0, false, false, true, err
	}
	// "HTTP/1.1 200 OK": version, three digits, optional reason.
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, 0, false, false, true, fmt.Errorf("%w: status line %q", ErrProtocol, trimCRLF(line))
	}
	keepAlive = line[7] == '1' // HTTP/1.1 keeps alive by default, 1.0 does not
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, 0, false, false, true, fmt.Errorf("%w: status line %q", ErrProtocol, trimCRLF(line))
		}
		status = status*10 + int(d-'0')
	}
	length = -1
	if len(c.cache) > 0 {
		clear(c.cache)
	}
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				err = fmt.Errorf("%w: header line longer than %d bytes", ErrProtocol, c.br.Size())
			}
			return status, length, chunked, keepAlive, true, err
		}
		line = trimCRLF(line)
		if len(line) == 0 {
			return status, length, chunked, keepAlive, true, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return status, length, chunked, keepAlive, true, fmt.Errorf("%w: header line %q", ErrProtocol, line)
		}
		name := line[:colon]
		// Only five fields matter; their lengths differ, so the length
		// rules out nearly every other field without comparing bytes.
		switch len(name) {
		case len("Content-Length"), len("Transfer-Encoding"), len("Connection"), len("Cache-Status"), len("X-Cache"):
		default:
			continue
		}
		value := bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := parseDecimal(value)
			if !ok {
				return status, length, chunked, keepAlive, true, fmt.Errorf("%w: content-length %q", ErrProtocol, value)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = containsTokenFold(value, "chunked")
		case bytes.EqualFold(name, []byte("Connection")):
			if containsTokenFold(value, "close") {
				keepAlive = false
			} else if containsTokenFold(value, "keep-alive") {
				keepAlive = true
			}
		case bytes.EqualFold(name, []byte("Cache-Status")):
			c.cache["Cache-Status"] = append(c.cache["Cache-Status"], string(value))
		case bytes.EqualFold(name, []byte("X-Cache")):
			c.cache["X-Cache"] = append(c.cache["X-Cache"], string(value))
		}
	}
}

// readChunked discards a chunked body (RFC 9112 §7.1) and counts its data.
func (c *h1Conn) readChunked() (int64, error) {
	var total int64
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return total, err
		}
		line = trimCRLF(line)
		if i := bytes.IndexByte(line, ';'); i >= 0 { // chunk extensions
			line = line[:i]
		}
		size, ok := parseHex(bytes.TrimSpace(line))
		if !ok {
			return total, fmt.Errorf("%w: chunk size %q", ErrProtocol, line)
		}
		if size == 0 {
			// Trailer fields, then the empty line.
			for {
				line, err := c.br.ReadSlice('\n')
				if err != nil {
					return total, err
				}
				if len(trimCRLF(line)) == 0 {
					return total, nil
				}
			}
		}
		n, err := c.br.Discard(int(size))
		total += int64(n)
		if err != nil {
			return total, err
		}
		crlf, err := c.br.ReadSlice('\n')
		if err != nil {
			return total, err
		}
		if len(trimCRLF(crlf)) != 0 {
			return total, fmt.Errorf("%w: no CRLF after chunk", ErrProtocol)
		}
	}
}

func trimCRLF(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// parseDecimal reads a non-negative decimal without allocating.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

// parseHex reads a chunk size.
func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, d := range b {
		switch {
		case d >= '0' && d <= '9':
			n = n<<4 | int64(d-'0')
		case d >= 'a' && d <= 'f':
			n = n<<4 | int64(d-'a'+10)
		case d >= 'A' && d <= 'F':
			n = n<<4 | int64(d-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// containsTokenFold reports whether a comma-separated field value holds
// token, ignoring case. It allocates nothing: nginx sends "Connection:
// keep-alive" with every response.
func containsTokenFold(v []byte, token string) bool {
	for len(v) > 0 {
		part := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if bytes.EqualFold(bytes.TrimSpace(part), []byte(token)) {
			return true
		}
	}
	return false
}
