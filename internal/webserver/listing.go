package webserver

import (
	"fmt"
	"html"
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

// listingPage renders a folder listing (built without html/template, as
// errorPage is); every name is escaped here.
func listingPage(path string, entries []listingEntry, truncated bool, shown int) string {
	p := html.EscapeString(path)
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Index of " + p + "</title>\n" +
		"<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}td,th{padding:.2rem 1rem;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}</style>\n" +
		"</head>\n<body>\n<h1>Index of " + p + "</h1>\n<table>\n<tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n")
	if path != "/" {
		b.WriteString("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n")
	}
	for _, e := range entries {
		fmt.Fprintf(&b, "<tr><td><a href=\"%s\">%s</a></td><td class=\"n\">%s</td><td>%s</td></tr>\n",
			html.EscapeString(e.Href), html.EscapeString(e.Name), html.EscapeString(e.Size), html.EscapeString(e.Mod))
	}
	b.WriteString("</table>\n")
	if truncated {
		fmt.Fprintf(&b, "<p>Only the first %d entries are listed.</p>", shown)
	}
	b.WriteString("\n<hr><address>socklab</address>\n</body>\n</html>\n")
	return b.String()
}

type listingEntry struct {
	Name, Href, Size, Mod string
	dir                   bool
}

func (s *Server) serveListing(rep *reply, r *request, dir fs.ReadDirFile) {
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
	rep.set("Content-Type", "text/html; charset=utf-8")
	rep.set("Cache-Control", "no-cache")
	rep.status = http.StatusOK
	rep.setBody([]byte(listingPage(r.path, list, truncated, maxListing)))
}
