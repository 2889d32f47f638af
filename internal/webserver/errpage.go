package webserver

import (
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The pages are built with html.EscapeString rather than html/template:
// a template's Execute makes the linker keep every exported method of every
// reachable type, which costs the binary about 13 MB.

// errorPage renders the error page; every argument is escaped here.
func errorPage(code int, text, msg, path string) string {
	t := strconv.Itoa(code) + " " + html.EscapeString(text)
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>" + t + "</title>\n" +
		"<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-weight:600}address{color:#777}</style>\n" +
		"</head>\n<body>\n<h1>" + t + "</h1>\n<p>" + html.EscapeString(msg) + "</p>\n")
	if path != "" {
		b.WriteString("<p>Requested: <code>" + html.EscapeString(path) + "</code></p>")
	}
	b.WriteString("\n<p><a href=\"/\">Back to the start page</a></p>\n<hr><address>socklab</address>\n</body>\n</html>\n")
	return b.String()
}

// defaultMessages explain the status codes a visitor may meet.
var defaultMessages = map[int]string{
	http.StatusBadRequest:                   "The request was malformed and was not served.",
	http.StatusNotFound:                     "There is nothing at this address.",
	http.StatusMethodNotAllowed:             "This server only answers GET and HEAD.",
	http.StatusRequestedRangeNotSatisfiable: "The requested byte range lies outside the file.",
	http.StatusPreconditionFailed:           "The file changed since the condition in the request was made.",
	http.StatusInternalServerError:          "The server failed to read the file.",
}

// writeError sends a small readable HTML page for an error status. A HEAD
// request gets the headers only (net/http drops the body).
func writeError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if msg == "" {
		msg = defaultMessages[code]
	}
	h := w.Header()
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	h.Del("ETag")
	h.Del("Last-Modified")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	path := ""
	if r != nil && r.URL != nil && code == http.StatusNotFound {
		path = r.URL.Path
	}
	_, _ = io.WriteString(w, errorPage(code, http.StatusText(code), msg, path))
}
