package webserver

import (
	"errors"
	"io/fs"
	"strings"
)

// Reasons a request path is refused before the file system is touched.
var (
	// errBadPath is a path no well-behaved client sends: not absolute, a NUL
	// or other control byte, a backslash (a Windows separator that must not
	// become one here), or a ".." segment. Answered with 400.
	errBadPath = errors.New("malformed path")
	// errHidden is a dot segment (".git", ".env") while dotfiles are off.
	// Answered with 404 so the file's existence is not revealed.
	errHidden = errors.New("hidden path")
)

// resolve maps r.URL.Path (already percent-decoded exactly once by net/url)
// to a name for io/fs (p itself, minus the leading slash, when it is
// already clean: the name then aliases p): slash-separated, relative, no empty, "." or ".."
// elements, or "." for the root itself.
//
// It never decodes again, so a doubly encoded "%252e%252e" stays the
// literal name "%2e%2e" and simply does not exist. Encoded slashes ("%2f")
// are already plain slashes here, so "..%2f" yields a ".." segment and is
// refused. Repeated slashes collapse, so "//etc/passwd" is "etc/passwd"
// under the root. os.Root then guards the last line: symlinks that leave the
// root.
func resolve(p string, dotfiles bool) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", errBadPath
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "", errBadPath
		}
	}
	// A path that is already clean is its own name, without a copy.
	clean := len(p) > 1 && p[len(p)-1] != '/'
	for rest := p[1:]; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		switch {
		case seg == "" || seg == ".":
			clean = false
		case seg == "..":
			return "", errBadPath
		case seg[0] == '.' && !dotfiles:
			return "", errHidden
		}
	}
	if clean {
		if !fs.ValidPath(p[1:]) {
			return "", errBadPath
		}
		return p[1:], nil
	}
	var b strings.Builder
	b.Grow(len(p))
	for rest := p; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		if seg == "" || seg == "." {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(seg)
	}
	if b.Len() == 0 {
		return ".", nil
	}
	name := b.String()
	if !fs.ValidPath(name) { // belt and braces: the loop above should make this unreachable
		return "", errBadPath
	}
	return name, nil
}
