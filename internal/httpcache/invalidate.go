package httpcache

import "net/url"

// Invalidates returns the absolute URIs a cache must invalidate after an
// unsafe request (§4.4): for a non-error (2xx or 3xx) response, the target
// URI and the Location and Content-Location URIs when they share the
// target's origin. target must be absolute.
func Invalidates(method string, status int, target string, resp Header) []string {
	if !unsafe(method) || status < 200 || status >= 400 {
		return nil
	}
	base, err := url.Parse(target)
	if err != nil || !base.IsAbs() {
		return nil
	}
	out := []string{target}
	for _, f := range []string{"Location", "Content-Location"} {
		v := get(resp, f)
		if v == "" {
			continue
		}
		ref, err := url.Parse(v)
		if err != nil {
			continue
		}
		u := base.ResolveReference(ref)
		u.Fragment = ""
		if u.Scheme == base.Scheme && u.Host == base.Host {
			s := u.String()
			if s != target {
				out = append(out, s)
			}
		}
	}
	return out
}
