package httpcache

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// PrimaryKey is the cache key of a request (§2): the method and the target
// URI (absolute, with scheme and host). HEAD shares GET's key because a
// stored GET response can answer a HEAD (§4).
func PrimaryKey(method, uri string) string {
	if method == "HEAD" {
		method = "GET"
	}
	return method + " " + uri
}

// ReverseKey is the cache key of a request a reverse proxy sends to its
// configured upstream: the primary key in a key space of its own, named by
// the upstream. The Host a client sends in origin-form is only a claim, so
// a key built from it alone ("http://" + Host + path) would let a client of
// the reverse proxy store a response that forward-proxy clients then get
// for the real "http://Host/path" (cache poisoning). '@' is not a token
// character (RFC 9110 §5.6.2), so no method starts a forward key with it.
func ReverseKey(method, upstream, uri string) string {
	return "@reverse " + upstream + " " + PrimaryKey(method, uri)
}

// SecondaryKey is the Vary part of a cache key (§4.1): the named request
// fields' values, field lines combined and whitespace normalised, so two
// requests with equal keys select the same stored response. Order of the
// names does not matter. Accept-Language and Accept-Encoding are
// normalised further by their semantics (normalizeAccept).
func SecondaryKey(fields []string, req Header) string {
	names := append([]string(nil), fields...)
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		canon := CanonicalKey(name)
		b.WriteString(strings.ToLower(name))
		b.WriteByte(':')
		lines := req[canon]
		if acceptLike(canon) {
			b.WriteString(normalizeAccept(lines))
		} else {
			for i, line := range lines {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(normalizeValue(line))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// acceptLike reports whether the (canonical) field's values are
// case-insensitive tokens with q-values (RFC 9110 §12.5.3, §12.5.4),
// normalised by normalizeAccept.
func acceptLike(canon string) bool { return canon == "Accept-Language" || canon == "Accept-Encoding" }

// normalizeValue collapses whitespace and drops it around commas, so
// "gzip,  br" and "gzip, br" select the same response (§4.1 allows this).
func normalizeValue(v string) string {
	parts := splitList(v)
	for i, p := range parts {
		parts[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.Join(parts, ",")
}

// acceptEntry is one member of an Accept-Language / Accept-Encoding value.
type acceptEntry struct {
	name string // lower case
	q    int    // thousandths, 0..1000
}

// parseAccept reads the members of the field lines: names lower-cased,
// q-values in thousandths (absent or invalid q: 1000), other parameters
// dropped.
func parseAccept(lines []string) []acceptEntry {
	var out []acceptEntry
	for _, line := range lines {
		for _, m := range splitList(line) {
			name, params, _ := strings.Cut(m, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			e := acceptEntry{name: name, q: 1000}
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(p, "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					e.q = parseQ(strings.TrimSpace(v))
				}
			}
			out = append(out, e)
		}
	}
	return out
}

// parseQ parses a qvalue (RFC 9110 §12.4.2) into thousandths; an invalid
// one counts as 1.
func parseQ(v string) int {
	if v == "" || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 1000
	}
	q := int(v[0]-'0') * 1000
	if len(v) > 1 {
		if v[1] != '.' {
			return 1000
		}
		scale := 100
		for i := 2; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 1000
			}
			q += int(v[i]-'0') * scale
			scale /= 10
		}
	}
	return min(q, 1000)
}

// normalizeAccept renders the entries in a canonical order: by q-value,
// highest first, and by name among equal q-values, so that "en, de",
// "De, EN" and "de;q=1.0, en" select the same stored response.
func normalizeAccept(lines []string) string {
	entries := parseAccept(lines)
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].q != entries[j].q {
			return entries[i].q > entries[j].q
		}
		return entries[i].name < entries[j].name
	})
	var b strings.Builder
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e.name)
		switch e.q {
		case 1000:
		case 0:
			b.WriteString(";q=0")
		default:
			b.WriteString(";q=0." + strings.TrimRight(strconv.Itoa(1000 + e.q)[1:], "0"))
		}
	}
	return b.String()
}

// maxLanguageAliases bounds the extra lookups one request makes.
const maxLanguageAliases = 4

// ContentLanguageKey is the key under which to store a response varying
// on Accept-Language instead of SecondaryKey: the secondary key of a
// request whose Accept-Language is exactly the response's single
// Content-Language, when that language is one the request prefers most.
// Any request preferring that language above all others can then be
// answered with it (LanguageAliasKeys finds it), whatever else it lists at
// lower q-values — the language negotiation of RFC 9110 §12.5.4 done by
// the cache (§4.1 allows such normalisation). ok is false when it does not
// apply; the response is then stored under SecondaryKey.
func ContentLanguageKey(fields []string, req, resp Header) (string, bool) {
	if !slices.Contains(fields, "Accept-Language") {
		return "", false
	}
	langs := listMembers(resp, "Content-Language")
	if len(langs) != 1 || !isToken(langs[0]) {
		return "", false
	}
	lang := strings.ToLower(langs[0])
	if !slices.Contains(topLanguages(req), lang) {
		return "", false
	}
	return SecondaryKey(fields, withField(req, "Accept-Language", lang)), true
}

// topLanguages are the languages a request prefers most (highest
// q-value above 0, "*" excepted), at most maxLanguageAliases.
func topLanguages(req Header) []string {
	entries := parseAccept(req["Accept-Language"])
	top := 0
	for _, e := range entries {
		top = max(top, e.q)
	}
	var out []string
	for _, e := range entries {
		if e.q == top && top > 0 && e.name != "*" && len(out) < maxLanguageAliases && !slices.Contains(out, e.name) {
			out = append(out, e.name)
		}
	}
	return out
}

// LanguageAliasKeys are the keys under which ContentLanguageKey may have
// stored a response this request accepts: one per language it prefers
// most (highest q-value, "*" excepted).
func LanguageAliasKeys(fields []string, req Header) []string {
	if !slices.Contains(fields, "Accept-Language") {
		return nil
	}
	var out []string
	for _, lang := range topLanguages(req) {
		out = append(out, SecondaryKey(fields, withField(req, "Accept-Language", lang)))
	}
	return out
}

// withField is a shallow copy of h with field name set to v.
func withField(h Header, name, v string) Header {
	out := make(Header, len(h)+1)
	for k, vs := range h {
		out[k] = vs
	}
	out[name] = []string{v}
	return out
}
