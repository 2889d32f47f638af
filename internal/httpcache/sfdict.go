package httpcache

import (
	"strconv"
	"strings"
)

// sfKind is the type of a structured-field bare item (RFC 8941 §3.3).
type sfKind int

const (
	sfBool sfKind = iota
	sfInteger
	sfDecimal
	sfString
	sfTok
	sfBytes
	sfInnerList
)

// sfValue is a dictionary member's value; parameters are parsed for
// validity and dropped (RFC 9213 §2.1: targeted directives ignore them).
type sfValue struct {
	kind sfKind
	b    bool
	i    int64
	s    string // string, token, decimal and byte-sequence text
}

// parseSFDictionary parses a Dictionary structured field (RFC 8941 §4.2.2)
// from its combined field lines. ok is false on any syntax error: the
// whole field is then invalid. Later duplicates of a key win (§3.2).
func parseSFDictionary(lines []string) (keys []string, vals map[string]sfValue, ok bool) {
	in := strings.Join(lines, ",")
	p := &sfParser{s: in}
	p.skipSP()
	vals = map[string]sfValue{}
	for !p.eof() {
		key, ok := p.key()
		if !ok {
			return nil, nil, false
		}
		v := sfValue{kind: sfBool, b: true}
		if p.peek() == '=' {
			p.i++
			if v, ok = p.member(); !ok {
				return nil, nil, false
			}
		} else if !p.params() {
			return nil, nil, false
		}
		if _, dup := vals[key]; !dup {
			keys = append(keys, key)
		}
		vals[key] = v
		p.skipOWS()
		if p.eof() {
			break
		}
		if p.peek() != ',' {
			return nil, nil, false
		}
		p.i++
		p.skipOWS()
		if p.eof() {
			return nil, nil, false // trailing comma
		}
	}
	return keys, vals, true
}

type sfParser struct {
	s string
	i int
}

func (p *sfParser) eof() bool { return p.i >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *sfParser) skipSP() {
	for p.peek() == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for c := p.peek(); c == ' ' || c == '\t'; c = p.peek() {
		p.i++
	}
}

// key is lcalpha / "*" followed by lcalpha, digits, "_-.*" (§3.1.2): an
// upper-case letter makes the field invalid.
func (p *sfParser) key() (string, bool) {
	start := p.i
	if c := p.peek(); !(c >= 'a' && c <= 'z' || c == '*') {
		return "", false
	}
	for c := p.peek(); c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_-.*", c) >= 0 && c != 0; c = p.peek() {
		p.i++
	}
	return p.s[start:p.i], true
}

// member is an item or an inner list, with parameters.
func (p *sfParser) member() (sfValue, bool) {
	if p.peek() == '(' {
		p.i++
		for {
			p.skipSP()
			if p.peek() == ')' {
				p.i++
				return sfValue{kind: sfInnerList}, p.params()
			}
			if _, ok := p.bareItem(); !ok || !p.params() {
				return sfValue{}, false
			}
			if c := p.peek(); c != ' ' && c != ')' {
				return sfValue{}, false
			}
		}
	}
	v, ok := p.bareItem()
	return v, ok && p.params()
}

// params parses ";key[=item]" parameters and discards them.
func (p *sfParser) params() bool {
	for p.peek() == ';' {
		p.i++
		p.skipSP()
		if _, ok := p.key(); !ok {
			return false
		}
		if p.peek() == '=' {
			p.i++
			if _, ok := p.bareItem(); !ok {
				return false
			}
		}
	}
	return true
}

func (p *sfParser) bareItem() (sfValue, bool) {
	c := p.peek()
	switch {
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == '"':
		return p.str()
	case c == '*' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		start := p.i
		p.i++
		for c := p.peek(); c != 0 && (isTokenByte(c) || c == ':' || c == '/'); c = p.peek() {
			p.i++
		}
		return sfValue{kind: sfTok, s: p.s[start:p.i]}, true
	case c == ':':
		end := strings.IndexByte(p.s[p.i+1:], ':')
		if end < 0 {
			return sfValue{}, false
		}
		b64 := p.s[p.i+1 : p.i+1+end]
		for i := 0; i < len(b64); i++ {
			if !(isAlnum(b64[i]) || strings.IndexByte("+/=", b64[i]) >= 0) {
				return sfValue{}, false
			}
		}
		p.i += end + 2
		return sfValue{kind: sfBytes, s: b64}, true
	case c == '?':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			p.i += 2
			return sfValue{kind: sfBool, b: p.s[p.i-1] == '1'}, true
		}
	}
	return sfValue{}, false
}

// number parses an Integer (at most 15 digits) or a Decimal (§4.2.4).
func (p *sfParser) number() (sfValue, bool) {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	digits, dot, frac := 0, false, 0
	for c := p.peek(); c >= '0' && c <= '9' || c == '.' && !dot; c = p.peek() {
		switch {
		case c == '.':
			if digits == 0 || digits > 12 {
				return sfValue{}, false
			}
			dot = true
		case dot:
			frac++
		default:
			digits++
		}
		p.i++
	}
	text := p.s[start:p.i]
	if dot {
		if frac == 0 || frac > 3 {
			return sfValue{}, false
		}
		return sfValue{kind: sfDecimal, s: text}, true
	}
	if digits == 0 || digits > 15 {
		return sfValue{}, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	return sfValue{kind: sfInteger, i: n}, err == nil
}

// str parses a String: printable ASCII, with \" and \\ escapes only.
func (p *sfParser) str() (sfValue, bool) {
	p.i++ // opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.eof() || p.s[p.i] != '"' && p.s[p.i] != '\\' {
				return sfValue{}, false
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case c == '"':
			return sfValue{kind: sfString, s: b.String()}, true
		case c < 0x20 || c >= 0x7f:
			return sfValue{}, false
		default:
			b.WriteByte(c)
		}
	}
	return sfValue{}, false
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isTokenByte reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenByte(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) < 0
}
