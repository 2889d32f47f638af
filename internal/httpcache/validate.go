package httpcache

import "strings"

// ConditionalHeader returns the validators to send when revalidating a
// stored response (§4.3.1): If-None-Match from ETag, If-Modified-Since
// from Last-Modified. It is empty when the response has no validator.
func ConditionalHeader(stored Header) Header {
	out := Header{}
	if etag := get(stored, "Etag"); etag != "" {
		out["If-None-Match"] = []string{etag}
	}
	if lm := get(stored, "Last-Modified"); lm != "" {
		if _, ok := ParseHTTPDate(lm); ok {
			out["If-Modified-Since"] = []string{lm}
		}
	}
	return out
}

// opaqueTag strips the weakness prefix of an entity-tag.
func opaqueTag(etag string) (tag string, weak bool) {
	etag = strings.TrimSpace(etag)
	if strings.HasPrefix(etag, "W/") {
		return etag[2:], true
	}
	return etag, false
}

// Selects304 reports whether a 304 (or HEAD) response's validators pick the
// stored response for updating (§4.3.4): a strong ETag must match exactly,
// a weak one by weak comparison, else Last-Modified must be equal; with no
// validator at all, the single stored response is selected.
func Selects304(stored, resp Header) bool {
	if etag := get(resp, "Etag"); etag != "" {
		t1, _ := opaqueTag(etag)
		t2, _ := opaqueTag(get(stored, "Etag"))
		return t1 == t2
	}
	if lm := get(resp, "Last-Modified"); lm != "" {
		return lm == get(stored, "Last-Modified")
	}
	return true
}

// Update304 returns the stored header updated from a 304 or HEAD response
// (§3.2, §4.3.4): every field in resp replaces the stored one, except
// Content-Length and the fields never stored (hop-by-hop, §3.1).
func Update304(stored, resp Header, t Targets) Header {
	out := CloneHeader(stored)
	fresh := StorageHeader(resp, t)
	for k, v := range fresh {
		if k == "Content-Length" {
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return out
}

// HeadInvalidates reports whether a HEAD response shows the stored GET
// response is outdated (§4.3.5): its Content-Length, ETag or Last-Modified
// differs from the stored one's.
func HeadInvalidates(stored, head Header) bool {
	for _, f := range []string{"Content-Length", "Etag", "Last-Modified"} {
		if v := get(head, f); v != "" && v != get(stored, f) {
			return true
		}
	}
	return false
}

// NotModified evaluates a client's own conditional headers against the
// response the cache is about to serve (RFC 9110 §13.2.2): true means a 304
// answers it. If-None-Match takes precedence over If-Modified-Since.
func NotModified(req, resp Header) bool {
	if inm := listMembers(req, "If-None-Match"); len(inm) > 0 {
		etag, _ := opaqueTag(get(resp, "Etag"))
		if etag == "" {
			return false
		}
		for _, m := range inm {
			if m == "*" {
				return true
			}
			if t, _ := opaqueTag(m); t == etag {
				return true
			}
		}
		return false
	}
	ims, ok := ParseHTTPDate(get(req, "If-Modified-Since"))
	if !ok {
		return false
	}
	// RFC 9111 §4.3.2: without Last-Modified, a cache uses the stored
	// response's Date as its last modification time.
	lm, ok := ParseHTTPDate(get(resp, "Last-Modified"))
	if !ok {
		lm, ok = ParseHTTPDate(get(resp, "Date"))
	}
	return ok && !lm.After(ims)
}
