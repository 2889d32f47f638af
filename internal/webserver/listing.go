package webserver

import (
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/units"
)

// maxListing caps how many entries a listing shows, so a huge folder does
// not become a huge page.
const maxListing = 5000

var listingPage = template.Must(template.New("listing").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Index of {{.Path}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}td,th{padding:.2rem 1rem;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}</style>
</head>
<body>
<h1>Index of {{.Path}}</h1>
<table>
<tr><th>Name</th><th>Size</th><th>Modified</th></tr>
{{if ne .Path "/"}}<tr><td><a href="../">../</a></td><td></td><td></td></tr>
{{end}}{{range .Entries}}<tr><td><a href="{{.Href}}">{{.Name}}</a></td><td class="n">{{.Size}}</td><td>{{.Mod}}</td></tr>
{{end}}</table>
{{if .Truncated}}<p>Only the first {{.Shown}} entries are listed.</p>{{end}}
<hr><address>socklab</address>
</body>
</html>
`))

type listingEntry struct {
	Name, Href, Size, Mod string
	dir                   bool
}

func (s *Server) serveListing(w http.ResponseWriter, r *http.Request, dir fs.ReadDirFile) {
	ents, err := dir.ReadDir(maxListing + 1)
	if err != nil && len(ents) == 0 {
		ents = nil // an empty folder reads as io.EOF
	}
	truncated := len(ents) > maxListing
	if truncated {
		ents = ents[:maxListing]
	}
	list := make([]listingEntry, 0, len(ents))
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") && !s.cfg.Dotfiles {
			continue
		}
		le := listingEntry{Name: name, dir: e.IsDir(), Size: "-"}
		if info, err := e.Info(); err == nil {
			if info.Mode().IsRegular() {
				le.Size = units.FormatBytes(float64(info.Size()))
			}
			if !info.ModTime().IsZero() {
				le.Mod = info.ModTime().UTC().Format(time.DateTime)
			}
		}
		href := (&url.URL{Path: name}).EscapedPath()
		if strings.Contains(name, ":") {
			href = "./" + href // a colon would read as a URL scheme
		}
		if le.dir {
			le.Name += "/"
			href += "/"
		}
		le.Href = href
		list = append(list, le)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].dir != list[j].dir {
			return list[i].dir
		}
		return list[i].Name < list[j].Name
	})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_ = listingPage.Execute(w, struct {
		Path      string
		Entries   []listingEntry
		Truncated bool
		Shown     int
	}{r.URL.Path, list, truncated, maxListing})
}
