package webserver

import (
	"io"
	"net/http"
)

// responseWriter records the status and body size for the access log and
// metrics. It passes io.ReaderFrom through, so files still go out with
// sendfile(2), and Unwrap lets http.ResponseController reach the connection.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	// cacheControl, when set, is sent on successful and redirect responses
	// that carry no Cache-Control of their own (Config.CacheControl).
	cacheControl []string
}

// stampsCacheControl lists the statuses nginx's "expires" applies to: a
// 404 or a 5xx never gets a lifetime from the site-wide setting.
func stampsCacheControl(code int) bool {
	switch code {
	case 200, 201, 204, 206, 301, 302, 303, 304, 307, 308:
		return true
	}
	return false
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
		if w.cacheControl != nil && stampsCacheControl(code) {
			if h := w.Header(); h["Cache-Control"] == nil {
				h["Cache-Control"] = w.cacheControl
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// errorPageWriter stands between http.ServeContent and the client: when
// ServeContent answers with an error (416, 412, 500) in plain text, it sends
// the server's HTML error page instead and drops ServeContent's body.
//
// sendfile says whether the body is an *os.File: only then is ReadFrom
// passed down (to sendfile(2)). An in-memory body is copied with Write, so
// headers and a small body leave in a single write(2) instead of two.
type errorPageWriter struct {
	http.ResponseWriter
	r        *http.Request
	sendfile bool
	swallow  bool
}

func (w *errorPageWriter) WriteHeader(code int) {
	if code >= 400 && !w.swallow {
		w.swallow = true
		writeError(w.ResponseWriter, w.r, code, "")
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *errorPageWriter) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *errorPageWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.swallow {
		return io.Copy(io.Discard, r)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok && w.sendfile {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
}
