package httpframe

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
)

func TestScan(t *testing.T) {
	const get = "GET / HTTP/1.1\r\nHost: a\r\n"
	cases := []struct {
		name, head string
		status     int // 0: accepted
		framing    Framing
		cl         int64
		tunnel     bool
	}{
		{"no body", get + "\r\n", 0, NoBody, 0, false},
		{"content-length", get + "Content-Length: 12\r\n\r\n", 0, Length, 12, false},
		{"equal content-lengths", get + "Content-Length: 3\r\ncontent-length: 3, 3\r\n\r\n", 0, Length, 3, false},
		{"chunked", get + "Transfer-Encoding: gzip, Chunked\r\n\r\n", 0, Chunked, 0, false},
		{"bare LF lines", "GET / HTTP/1.1\nHost: a\n\n", 0, NoBody, 0, false},
		{"leading CRLF", "\r\n" + get + "\r\n", 0, NoBody, 0, false},
		{"connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 0, NoBody, 0, true},
		{"upgrade", get + "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 0, NoBody, 0, true},
		{"cl and te", get + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0, 0, false},
		{"te last not chunked", get + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, 0, 0, false},
		{"te empty", get + "Transfer-Encoding: ,\r\n\r\n", 400, 0, 0, false},
		{"te chunked twice", get + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0, 0, false},
		{"te in 1.0", "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0, 0, false},
		{"obs-fold", get + "X: a\r\n b\r\n\r\n", 400, 0, 0, false},
		{"space before colon", get + "Content-Length : 1\r\n\r\n", 400, 0, 0, false},
		{"no colon", get + "Content-Length 1\r\n\r\n", 400, 0, 0, false},
		{"bare CR", get + "X: a\rb\r\n\r\n", 400, 0, 0, false},
		{"differing cl", get + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, 0, 0, false},
		{"cl not a number", get + "Content-Length: 1e3\r\n\r\n", 400, 0, 0, false},
		{"cl too long", get + "Content-Length: 1234567890123456789\r\n\r\n", 400, 0, 0, false},
		{"too many fields", get + strings.Repeat("X: y\r\n", 100) + "\r\n", 431, 0, 0, false},
		{"too large", get + "X: " + strings.Repeat("y", 70000) + "\r\n\r\n", 431, 0, 0, false},
		{"too large unfinished", get + "X: " + strings.Repeat("y", 70000), 431, 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Scan([]byte(tc.head), Limits{})
			var e *Error
			switch {
			case tc.status != 0:
				if !errors.As(err, &e) || e.Status != tc.status {
					t.Fatalf("err = %v, want status %d", err, tc.status)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			case h.Len != len(tc.head) || h.Framing != tc.framing || h.ContentLength != tc.cl || h.Tunnel != tc.tunnel:
				t.Fatalf("head = %+v", h)
			}
		})
	}
	if _, err := Scan([]byte(get), Limits{}); err != ErrIncomplete {
		t.Errorf("unfinished head: %v", err)
	}
}

func TestChunkScanner(t *testing.T) {
	for _, body := range []string{
		"0\r\n\r\n",
		"5\r\nhello\r\n0\r\n\r\n",
		"5;name=\"v\"\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
	} {
		var s ChunkScanner
		n, err := s.Feed([]byte(body + "NEXT"))
		if err != nil || n != len(body) || !s.Done() {
			t.Errorf("%q: n=%d done=%v err=%v", body, n, s.Done(), err)
		}
		// Byte by byte gives the same answer.
		var s1 ChunkScanner
		for i := 0; i < len(body); i++ {
			if _, err := s1.Feed([]byte{body[i]}); err != nil {
				t.Fatalf("%q byte %d: %v", body, i, err)
			}
		}
		if !s1.Done() {
			t.Errorf("%q fed byte by byte: not done", body)
		}
	}
	for _, body := range []string{"", "zz\r\n", "-1\r\n", "0x5\r\n", "5 \r\n", "5\n", "5\r\nhelloX", "5\r\nhello\n",
		"10000000000000000\r\n", "5;\x00\r\n", ";x\r\n", "0\r\nX: y\n", "0\r\n\n", "0\r\n\rx"} {
		var s ChunkScanner
		_, err := s.Feed([]byte(body))
		if err == nil && body != "" {
			t.Errorf("%q accepted", body)
		}
	}
}

// FuzzScan checks Scan never panics and, when it accepts a head, agrees
// with net/http on where the head ends and how the body is framed.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\nX: a\n b\n\n",
		"\r\nGET / HTTP/1.0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Scan(b, Limits{MaxHeaderBytes: 4096, MaxFields: 20})
		if err != nil {
			return
		}
		if h.Len <= 0 || h.Len > len(b) {
			t.Fatalf("Len %d of %d bytes", h.Len, len(b))
		}
		br := bufio.NewReaderSize(bytes.NewReader(b), len(b)+16)
		r, err := http.ReadRequest(br)
		if err != nil {
			return // net/http refuses it by itself
		}
		if used := len(b) - br.Buffered(); used != h.Len {
			t.Fatalf("head ends at %d for net/http, %d for Scan\n%q", used, h.Len, b)
		}
		switch h.Framing {
		case NoBody:
			if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
				t.Fatalf("net/http sees a body (%d, %v) where Scan sees none\n%q", r.ContentLength, r.TransferEncoding, b)
			}
		case Length:
			if r.ContentLength != h.ContentLength || len(r.TransferEncoding) > 0 {
				t.Fatalf("Content-Length %d for net/http, %d for Scan\n%q", r.ContentLength, h.ContentLength, b)
			}
		case Chunked:
			if len(r.TransferEncoding) == 0 || r.TransferEncoding[len(r.TransferEncoding)-1] != "chunked" {
				t.Fatalf("net/http does not see a chunked body\n%q", b)
			}
		}
	})
}

// FuzzChunkScanner checks that what the scanner accepts as a whole
// chunked body net/http's chunked reader also reads to its end.
func FuzzChunkScanner(f *testing.F) {
	for _, s := range []string{"0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", "3;a=b\r\nabc\r\n0\r\nT: v\r\n\r\n", "zz\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s ChunkScanner
		n, err := s.Feed(b)
		if n < 0 || n > len(b) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		if err != nil || !s.Done() {
			return
		}
		if _, err := io.Copy(io.Discard, httputil.NewChunkedReader(bytes.NewReader(b[:n]))); err != nil {
			t.Fatalf("scanner accepted %q, net/http: %v", b[:n], err)
		}
	})
}

// BenchmarkScan measures the check every request head goes through.
func BenchmarkScan(b *testing.B) {
	head := []byte("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
		"Accept: text/html,application/xhtml+xml\r\nAccept-Encoding: gzip, br\r\nAccept-Language: en\r\nConnection: keep-alive\r\n\r\n")
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for range b.N {
		if _, err := Scan(head, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
