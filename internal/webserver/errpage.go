package webserver

import (
	"html/template"
	"net/http"
)

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Code}} {{.Text}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-weight:600}address{color:#777}</style>
</head>
<body>
<h1>{{.Code}} {{.Text}}</h1>
<p>{{.Msg}}</p>
{{if .Path}}<p>Requested: <code>{{.Path}}</code></p>{{end}}
<p><a href="/">Back to the start page</a></p>
<hr><address>socklab</address>
</body>
</html>
`))

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
	_ = errorPage.Execute(w, struct {
		Code      int
		Text, Msg string
		Path      string
	}{code, http.StatusText(code), msg, path})
}
