// Package httpcache is socklab's RFC 9111 shared-cache policy, written by
// hand: Cache-Control parsing, cache keys with Vary secondary keys,
// storability (§3, incl. Authorization §3.5), freshness lifetime and age
// (§4.2), reuse decisions for request and response directives (§4, §5.2),
// validation requests and 304 header updates (§4.3), invalidation by unsafe
// methods (§4.4) and the Cache-Status field (RFC 9211).
//
// It is pure: no sockets, no goroutines, time passed in. Headers are plain
// map[string][]string with canonical keys (http.Header converts for free),
// so the package does not import net or net/http.
package httpcache
