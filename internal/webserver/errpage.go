package webserver

import (
	"html"
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

// writeError makes rep a small readable HTML page for an error status. A
// HEAD request gets the headers only (the engine drops the body). r may
// be nil (an engine's own parse error).
func writeError(rep *reply, r *request, code int, msg string) {
	if msg == "" {
		msg = defaultMessages[code]
	}
	rep.release()
	rep.del("Content-Encoding")
	rep.del("ETag")
	rep.del("Last-Modified")
	rep.del("Accept-Ranges")
	rep.set("Content-Type", "text/html; charset=utf-8")
	rep.set("Cache-Control", "no-store")
	rep.status = code
	path := ""
	if r != nil && code == http.StatusNotFound {
		path = r.path
	}
	rep.setBody([]byte(errorPage(code, http.StatusText(code), msg, path)))
}
