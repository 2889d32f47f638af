package httpget

import (
	"net/netip"
	"net/url"
	"strings"
)

// EnvProxy returns the proxy curl would take for target from the
// environment, or "". http URLs read http_proxy, then HTTP_PROXY (not when
// REQUEST_METHOD is set: under CGI a client controls HTTP_PROXY through its
// "Proxy:" header, the "httpoxy" hole); https URLs read https_proxy and
// HTTPS_PROXY; both fall back to all_proxy and ALL_PROXY. A host matching
// no_proxy / NO_PROXY goes direct. Unlike Go's http.ProxyFromEnvironment,
// loopback targets are proxied too, as with curl: in a lab on one machine
// every target is loopback.
func EnvProxy(getenv func(string) string, target *url.URL) string {
	var names []string
	switch target.Scheme {
	case "https":
		names = []string{"https_proxy", "HTTPS_PROXY"}
	default:
		names = []string{"http_proxy"}
		if getenv("REQUEST_METHOD") == "" {
			names = append(names, "HTTP_PROXY")
		}
	}
	proxy := firstEnv(getenv, append(names, "all_proxy", "ALL_PROXY")...)
	if proxy == "" || noProxyMatch(firstEnv(getenv, "no_proxy", "NO_PROXY"), target.Hostname()) {
		return ""
	}
	return proxy
}

func firstEnv(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// noProxyMatch reports whether host is in the no_proxy list: "*", a name
// that matches itself and its subdomains (".example.com" as well as
// "example.com"), an IP address or a CIDR.
func noProxyMatch(list, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	ip, ipErr := netip.ParseAddr(host)
	for entry := range strings.SplitSeq(list, ",") {
		entry = strings.ToLower(strings.TrimSpace(entry))
		switch {
		case entry == "":
			continue
		case entry == "*":
			return true
		}
		if p, err := netip.ParsePrefix(entry); err == nil {
			if ipErr == nil && p.Contains(ip.Unmap()) {
				return true
			}
			continue
		}
		entry = strings.Trim(entry, "[]")
		if a, err := netip.ParseAddr(entry); err == nil {
			if ipErr == nil && a.Unmap() == ip.Unmap() {
				return true
			}
			continue
		}
		entry = strings.TrimPrefix(entry, ".")
		if host == entry || strings.HasSuffix(host, "."+entry) {
			return true
		}
	}
	return false
}
