package demo

import (
	"bytes"
	"io"
)

// indentWriter prefixes every line written through it, so the engines'
// renderers nest under the demo's step headings.
type indentWriter struct {
	w      io.Writer
	prefix string
	mid    bool // inside a line: no prefix before the next byte
}

func (iw *indentWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if !iw.mid {
			if p[0] != '\n' {
				if _, err := io.WriteString(iw.w, iw.prefix); err != nil {
					return n, err
				}
			}
			iw.mid = true
		}
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
			iw.mid = false
		}
		m, err := iw.w.Write(line)
		n += m
		if err != nil {
			return n, err
		}
		p = p[len(line):]
	}
	return n, nil
}
