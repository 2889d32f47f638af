package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
)

// Request bodies with Transfer-Encoding are buffered whole before anything
// is sent upstream, as nginx does with proxy_request_buffering on: the
// guard checks every chunk as it streams, so a malformed chunk after the
// first one is only found mid-body, and by then a streaming proxy would
// have handed the origin the head and part of the body. Buffered, the
// whole framing is checked first (400, nothing reaches the origin) and the
// body goes on with a Content-Length.
const (
	// DefaultMaxChunkedBody is the largest chunked request body buffered
	// when Config.MaxChunkedBody is zero.
	DefaultMaxChunkedBody = 64 << 20
	// bodyMemory is how much of a buffered body stays in memory (nginx's
	// client_body_buffer_size is 8-16 KiB); the rest goes to an unlinked
	// temporary file, so that memory stays bounded by the connection cap.
	bodyMemory = 16 << 10
)

// bufferBody replaces a chunked r.Body with the whole body, checked, and
// its length; it answers 400 (malformed framing, a client that left) or
// 413 (over the limit) itself and returns nil then. The caller closes the
// returned body when done.
func (p *Proxy) bufferBody(w *respWriter, r *http.Request) io.Closer {
	sp := &spool{limit: p.maxChunkedBody}
	_, err := io.Copy(sp, r.Body)
	if err == nil {
		err = r.Body.Close()
	}
	if err != nil {
		sp.Close()
		w.Header().Set("Connection", "close")
		switch {
		case errors.Is(err, errBodyTooLarge):
			p.plainError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("chunked request body larger than %d bytes", p.maxChunkedBody))
		case sp.err != nil:
			p.log.Error("buffer request body", "err", sp.err)
			p.plainError(w, http.StatusInternalServerError, sp.err.Error())
		default: // the guard's verdict on the framing, or a client gone
			p.plainError(w, http.StatusBadRequest, "request body: "+err.Error())
		}
		return nil
	}
	r.Body, r.ContentLength, r.TransferEncoding = sp.reader(), sp.n, nil
	r.GetBody = func() (io.ReadCloser, error) { return sp.reader(), nil }
	// The client was sent 100 Continue when its body was read; the origin
	// gets the whole body at once.
	r.Header.Del("Expect")
	return sp
}

var errBodyTooLarge = errors.New("request body too large")

// spool holds a body: the first bodyMemory bytes in memory, the rest in an
// unlinked temporary file.
type spool struct {
	limit int64
	n     int64
	mem   []byte
	f     *os.File
	err   error // the temporary file failed
}

func (s *spool) Write(b []byte) (int, error) {
	n := len(b)
	if s.n+int64(n) > s.limit {
		return 0, errBodyTooLarge
	}
	s.n += int64(n)
	if room := bodyMemory - len(s.mem); room > 0 {
		k := min(room, len(b))
		s.mem = append(s.mem, b[:k]...)
		b = b[k:]
	}
	if len(b) == 0 {
		return n, nil
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "socklab-body-*")
		if err != nil {
			s.err = fmt.Errorf("buffer request body: %w", err)
			return 0, s.err
		}
		// Unlinked at once: the file lives as long as its descriptor, and
		// nothing is left behind if the process dies.
		_ = os.Remove(f.Name())
		s.f = f
	}
	if _, err := s.f.Write(b); err != nil {
		s.err = fmt.Errorf("buffer request body: %w", err)
		return 0, s.err
	}
	return n, nil
}

// reader reads the body from its start.
func (s *spool) reader() io.ReadCloser {
	r := io.Reader(bytes.NewReader(s.mem))
	if s.f != nil {
		r = io.MultiReader(r, io.NewSectionReader(s.f, 0, s.n-int64(len(s.mem))))
	}
	return io.NopCloser(r)
}

// Close releases the temporary file.
func (s *spool) Close() error {
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}
