package httpcache

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func hdr(kv ...string) Header {
	h := Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := CanonicalKey(kv[i])
		h[k] = append(h[k], kv[i+1])
	}
	return h
}

func TestParseCacheControl(t *testing.T) {
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	tests := []struct {
		in    []string
		check func(d Directives) bool
	}{
		{[]string{"no-store"}, func(d Directives) bool { return d.NoStore && !d.NoCache }},
		{[]string{"No-Cache"}, func(d Directives) bool { return d.NoCache && d.NoCacheFields == nil }},
		{[]string{`no-cache="set-cookie, x-secret"`}, func(d Directives) bool {
			return !d.NoCache && slices.Equal(d.NoCacheFields, []string{"Set-Cookie", "X-Secret"})
		}},
		{[]string{`no-cache=""`}, func(d Directives) bool { return d.NoCache }},
		{[]string{"private"}, func(d Directives) bool { return d.Private && d.PrivateFields == nil }},
		{[]string{`private="x-user"`}, func(d Directives) bool { return !d.Private && slices.Equal(d.PrivateFields, []string{"X-User"}) }},
		{[]string{"public, max-age=60"}, func(d Directives) bool { return d.Public && d.MaxAge == sec(60) && d.SMaxAge == -1 }},
		{[]string{`max-age="30"`}, func(d Directives) bool { return d.MaxAge == sec(30) }},
		{[]string{"max-age=abc"}, func(d Directives) bool { return d.MaxAge == 0 }},
		{[]string{"max-age=-1"}, func(d Directives) bool { return d.MaxAge == 0 }},
		{[]string{"max-age=10", "max-age=20"}, func(d Directives) bool { return d.MaxAge == sec(10) }},
		{[]string{"max-age=99999999999999999999"}, func(d Directives) bool { return d.MaxAge == MaxDelta }},
		{[]string{"s-maxage=5, must-revalidate, proxy-revalidate"}, func(d Directives) bool {
			return d.SMaxAge == sec(5) && d.MustRevalidate && d.ProxyRevalidate
		}},
		{[]string{"stale-while-revalidate=30, stale-if-error=60, immutable"}, func(d Directives) bool {
			return d.StaleWhileRevalidate == sec(30) && d.StaleIfError == sec(60) && d.Immutable
		}},
		{[]string{"max-stale"}, func(d Directives) bool { return d.MaxStale == MaxDelta }},
		{[]string{"max-stale=5, min-fresh=3, only-if-cached"}, func(d Directives) bool {
			return d.MaxStale == sec(5) && d.MinFresh == sec(3) && d.OnlyIfCached
		}},
		{[]string{"min-fresh=x"}, func(d Directives) bool { return d.MinFresh == -1 }},
		{[]string{" , ,unknown-ext=\"a,b\", max-age=7 "}, func(d Directives) bool { return d.MaxAge == sec(7) }},
		{nil, func(d Directives) bool { return d.MaxAge == -1 && d.MaxStale == -1 && !d.NoCache }},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.in, "|"), func(t *testing.T) {
			d := ParseCacheControl(Header{"Cache-Control": tc.in})
			if !tc.check(d) {
				t.Errorf("ParseCacheControl(%q) = %+v", tc.in, d)
			}
		})
	}
}

func TestPragmaNoCache(t *testing.T) {
	if !PragmaNoCache(hdr("Pragma", "no-cache")) {
		t.Error("Pragma: no-cache without Cache-Control must count")
	}
	if PragmaNoCache(hdr("Pragma", "no-cache", "Cache-Control", "max-age=5")) {
		t.Error("Pragma must be ignored when Cache-Control is present (§5.4)")
	}
}

func TestLifetime(t *testing.T) {
	date := FormatHTTPDate(t0)
	tests := []struct {
		name      string
		status    int
		h         Header
		want      time.Duration
		heuristic bool
	}{
		{"s-maxage beats max-age", 200, hdr("Cache-Control", "max-age=10, s-maxage=20", "Date", date), 20 * time.Second, false},
		{"max-age beats Expires", 200, hdr("Cache-Control", "max-age=10", "Expires", FormatHTTPDate(t0.Add(time.Hour)), "Date", date), 10 * time.Second, false},
		{"Expires minus Date", 200, hdr("Expires", FormatHTTPDate(t0.Add(90*time.Second)), "Date", date), 90 * time.Second, false},
		{"Expires in the past", 200, hdr("Expires", FormatHTTPDate(t0.Add(-time.Hour)), "Date", date), 0, false},
		{"invalid Expires means stale", 200, hdr("Expires", "0", "Date", date, "Last-Modified", FormatHTTPDate(t0.Add(-100*time.Hour))), 0, false},
		{"Expires in RFC 850 form", 200, hdr("Expires", t0.Add(time.Minute).Format("Monday, 02-Jan-06 15:04:05 GMT"), "Date", date), time.Minute, false},
		{"heuristic 10% of Last-Modified age", 200, hdr("Date", date, "Last-Modified", FormatHTTPDate(t0.Add(-10*time.Hour))), time.Hour, true},
		{"heuristic capped", 404, hdr("Date", date, "Last-Modified", FormatHTTPDate(t0.Add(-1000*time.Hour))), HeuristicMax, true},
		{"no heuristic for 302", 302, hdr("Date", date, "Last-Modified", FormatHTTPDate(t0.Add(-10*time.Hour))), 0, false},
		{"public allows heuristic for 302", 302, hdr("Cache-Control", "public", "Date", date, "Last-Modified", FormatHTTPDate(t0.Add(-10*time.Hour))), time.Hour, true},
		{"nothing", 200, hdr("Date", date), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Response{Status: tc.status, Header: tc.h, RequestTime: t0, ResponseTime: t0}
			got, heur := r.Lifetime()
			if got != tc.want || heur != tc.heuristic {
				t.Errorf("Lifetime = %v, %v; want %v, %v", got, heur, tc.want, tc.heuristic)
			}
			prepared := (&Response{Status: tc.status, Header: tc.h, RequestTime: t0, ResponseTime: t0}).Prepare()
			if got, heur := prepared.Lifetime(); got != tc.want || heur != tc.heuristic {
				t.Errorf("prepared Lifetime = %v, %v; want %v, %v", got, heur, tc.want, tc.heuristic)
			}
		})
	}
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   []string
		want time.Duration
		ok   bool
	}{
		{[]string{"10"}, 10 * time.Second, true},
		{[]string{"10, 20"}, 10 * time.Second, true},
		{[]string{"7", "9"}, 7 * time.Second, true},
		{[]string{"-5"}, 0, false},
		{[]string{"1.5"}, 0, false},
		{[]string{"+3"}, 0, false},
		{[]string{" 4 "}, 4 * time.Second, true},
		{[]string{"abc"}, 0, false},
		{[]string{"99999999999999"}, MaxDelta, true},
		{nil, 0, false},
	}
	for _, tc := range tests {
		got, ok := ParseAge(Header{"Age": tc.in})
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseAge(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		name      string
		h         Header
		req, resp time.Time
		now       time.Time
		want      time.Duration
	}{
		{"resident time", hdr("Date", FormatHTTPDate(t0)), t0, t0, t0.Add(30 * time.Second), 30 * time.Second},
		{"Age field plus response delay", hdr("Date", FormatHTTPDate(t0), "Age", "100"), t0, t0.Add(2 * time.Second), t0.Add(2 * time.Second), 102 * time.Second},
		{"apparent age from an old Date", hdr("Date", FormatHTTPDate(t0.Add(-50*time.Second))), t0, t0, t0, 50 * time.Second},
		{"Date in the future is no negative age", hdr("Date", FormatHTTPDate(t0.Add(time.Hour))), t0, t0, t0, 0},
		{"invalid Age ignored", hdr("Date", FormatHTTPDate(t0), "Age", "x"), t0, t0, t0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Response{Status: 200, Header: tc.h, RequestTime: tc.req, ResponseTime: tc.resp}
			if got := r.Age(tc.now); got != tc.want {
				t.Errorf("Age = %v, want %v", got, tc.want)
			}
			if got := r.Prepare().Age(tc.now); got != tc.want {
				t.Errorf("prepared Age = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStorable(t *testing.T) {
	get := func(kv ...string) Request { return Request{Method: "GET", Header: hdr(kv...)} }
	tests := []struct {
		name   string
		req    Request
		status int
		h      Header
		ok     bool
		reason string
	}{
		{"max-age", get(), 200, hdr("Cache-Control", "max-age=60"), true, ""},
		{"heuristic status without freshness", get(), 200, hdr(), true, ""},
		{"302 without freshness", get(), 302, hdr(), false, "no-freshness"},
		{"302 with max-age", get(), 302, hdr("Cache-Control", "max-age=5"), true, ""},
		{"302 with Expires", get(), 302, hdr("Expires", "0"), true, ""},
		{"POST", Request{Method: "POST", Header: hdr()}, 200, hdr("Cache-Control", "max-age=60"), false, "method"},
		{"response no-store", get(), 200, hdr("Cache-Control", "max-age=60, no-store"), false, "no-store"},
		{"request no-store", get("Cache-Control", "no-store"), 200, hdr("Cache-Control", "max-age=60"), false, "no-store"},
		{"private", get(), 200, hdr("Cache-Control", "private, max-age=60"), false, "private"},
		{"private with fields is storable", get(), 200, hdr("Cache-Control", `private="X-User", max-age=60`), true, ""},
		{"no-cache is storable", get(), 200, hdr("Cache-Control", "no-cache"), true, ""},
		{"Authorization without permission", get("Authorization", "Basic x"), 200, hdr("Cache-Control", "max-age=60"), false, "authorization"},
		{"Authorization with public", get("Authorization", "Basic x"), 200, hdr("Cache-Control", "public, max-age=60"), true, ""},
		{"Authorization with s-maxage", get("Authorization", "Basic x"), 200, hdr("Cache-Control", "s-maxage=60"), true, ""},
		{"Authorization with must-revalidate", get("Authorization", "Basic x"), 200, hdr("Cache-Control", "must-revalidate, max-age=60"), true, ""},
		{"Vary star", get(), 200, hdr("Cache-Control", "max-age=60", "Vary", "Accept", "Vary", "*"), false, "vary-star"},
		{"206", get(), 206, hdr("Cache-Control", "max-age=60"), false, "status"},
		{"304", get(), 304, hdr("Cache-Control", "max-age=60"), false, "status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := Storable(tc.req, tc.status, tc.h, nil)
			if ok != tc.ok || reason != tc.reason {
				t.Errorf("Storable = %v %q, want %v %q", ok, reason, tc.ok, tc.reason)
			}
		})
	}
}

func TestStorageAndReuseHeader(t *testing.T) {
	h := hdr("Connection", "X-Hop, close", "X-Hop", "1", "Keep-Alive", "5", "Transfer-Encoding", "chunked",
		"Cache-Control", `private="X-User", no-cache="X-Token", max-age=60`, "X-User", "bob", "X-Token", "t", "X-Keep", "k")
	h["Set-Cookie"] = []string{"session=alice"}
	h["Set-Cookie2"] = []string{"old=1"}
	s := StorageHeader(h, nil)
	for _, gone := range []string{"Connection", "X-Hop", "Keep-Alive", "Transfer-Encoding", "X-User", "Set-Cookie", "Set-Cookie2"} {
		if _, ok := s[gone]; ok {
			t.Errorf("StorageHeader kept %s", gone)
		}
	}
	if s["X-Keep"] == nil || s["X-Token"] == nil {
		t.Errorf("StorageHeader dropped a storable field: %v", s)
	}
	if _, ok := h["X-User"]; !ok {
		t.Error("StorageHeader modified its input")
	}
	r := ReuseHeader(s)
	if _, ok := r["X-Token"]; ok {
		t.Error("ReuseHeader kept a field named by no-cache")
	}
	if r["X-Keep"] == nil {
		t.Error("ReuseHeader dropped an ordinary field")
	}
}

func TestReuse(t *testing.T) {
	stored := func(age time.Duration, kv ...string) *Response {
		h := hdr(kv...)
		h["Date"] = []string{FormatHTTPDate(t0.Add(-age))}
		return &Response{Status: 200, Header: h, RequestTime: t0.Add(-age), ResponseTime: t0.Add(-age)}
	}
	req := func(kv ...string) Request { return Request{Method: "GET", Header: hdr(kv...)} }
	tests := []struct {
		name   string
		req    Request
		stored *Response
		want   Action
		reason string
	}{
		{"fresh", req(), stored(10*time.Second, "Cache-Control", "max-age=60"), Fresh, ""},
		{"stale", req(), stored(70*time.Second, "Cache-Control", "max-age=60"), Revalidate, "stale"},
		{"response no-cache", req(), stored(0, "Cache-Control", "no-cache, max-age=60"), Revalidate, "no-cache"},
		{"response no-cache with fields is reusable", req(), stored(0, "Cache-Control", `no-cache="X-A", max-age=60`), Fresh, ""},
		{"request no-cache", req("Cache-Control", "no-cache"), stored(0, "Cache-Control", "max-age=60"), Revalidate, "request"},
		{"request Pragma no-cache", req("Pragma", "no-cache"), stored(0, "Cache-Control", "max-age=60"), Revalidate, "request"},
		{"request max-age exceeded", req("Cache-Control", "max-age=5"), stored(10*time.Second, "Cache-Control", "max-age=60"), Revalidate, "request"},
		{"request max-age met", req("Cache-Control", "max-age=20"), stored(10*time.Second, "Cache-Control", "max-age=60"), Fresh, ""},
		{"request max-age=0 on immutable", req("Cache-Control", "max-age=0"), stored(10*time.Second, "Cache-Control", "max-age=60, immutable"), Fresh, ""},
		{"request no-cache on immutable", req("Cache-Control", "no-cache"), stored(10*time.Second, "Cache-Control", "max-age=60, immutable"), Revalidate, "request"},
		{"min-fresh unmet", req("Cache-Control", "min-fresh=55"), stored(10*time.Second, "Cache-Control", "max-age=60"), Revalidate, "request"},
		{"min-fresh met", req("Cache-Control", "min-fresh=40"), stored(10*time.Second, "Cache-Control", "max-age=60"), Fresh, ""},
		{"max-stale any", req("Cache-Control", "max-stale"), stored(1000*time.Second, "Cache-Control", "max-age=60"), StaleAllowed, ""},
		{"max-stale within", req("Cache-Control", "max-stale=20"), stored(70*time.Second, "Cache-Control", "max-age=60"), StaleAllowed, ""},
		{"max-stale exceeded", req("Cache-Control", "max-stale=5"), stored(70*time.Second, "Cache-Control", "max-age=60"), Revalidate, "stale"},
		{"max-stale vs must-revalidate", req("Cache-Control", "max-stale"), stored(70*time.Second, "Cache-Control", "max-age=60, must-revalidate"), Revalidate, "stale"},
		{"max-stale vs proxy-revalidate", req("Cache-Control", "max-stale"), stored(70*time.Second, "Cache-Control", "max-age=60, proxy-revalidate"), Revalidate, "stale"},
		{"max-stale vs s-maxage", req("Cache-Control", "max-stale"), stored(70*time.Second, "Cache-Control", "s-maxage=60"), Revalidate, "stale"},
		{"stale-while-revalidate window", req(), stored(70*time.Second, "Cache-Control", "max-age=60, stale-while-revalidate=30"), StaleWhileRevalidate, "stale"},
		{"past stale-while-revalidate", req(), stored(100*time.Second, "Cache-Control", "max-age=60, stale-while-revalidate=30"), Revalidate, "stale"},
		{"Authorization vs plain entry", req("Authorization", "x"), stored(0, "Cache-Control", "max-age=60"), Unusable, "authorization"},
		{"Authorization vs public entry", req("Authorization", "x"), stored(0, "Cache-Control", "public, max-age=60"), Fresh, ""},
		{"Vary star", req(), stored(0, "Cache-Control", "max-age=60", "Vary", "*"), Unusable, "vary-star"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Reuse(tc.req, tc.stored, t0)
			if d.Action != tc.want || d.Reason != tc.reason {
				t.Errorf("Reuse = %v %q (age %v ttl %v), want %v %q", d.Action, d.Reason, d.Age, d.TTL, tc.want, tc.reason)
			}
			prepared := *tc.stored
			if d2 := Reuse(tc.req, prepared.Prepare(), t0); d2 != d {
				t.Errorf("Reuse on a prepared response = %+v, unprepared %+v", d2, d)
			}
		})
	}
}

func TestStaleIfError(t *testing.T) {
	mk := func(cc string) *Response {
		return &Response{Status: 200, Header: hdr("Cache-Control", cc, "Date", FormatHTTPDate(t0)), RequestTime: t0, ResponseTime: t0}
	}
	now := t0.Add(100 * time.Second)
	get := Request{Method: "GET", Header: hdr()}
	if !StaleIfError(get, mk("max-age=60, stale-if-error=60"), now) {
		t.Error("within stale-if-error must serve stale")
	}
	if StaleIfError(get, mk("max-age=60, stale-if-error=10"), now) {
		t.Error("past stale-if-error must not serve stale")
	}
	if StaleIfError(get, mk("max-age=60, stale-if-error=600, must-revalidate"), now) {
		t.Error("must-revalidate forbids stale-if-error")
	}
	if !StaleIfError(Request{Method: "GET", Header: hdr("Cache-Control", "stale-if-error=300")}, mk("max-age=60"), now) {
		t.Error("request stale-if-error must count")
	}
	if StaleIfError(get, mk("max-age=60"), now) {
		t.Error("no window, no stale")
	}
	if StaleIfError(Request{Method: "GET", Header: hdr("Cache-Control", "no-cache")}, mk("max-age=600"), now) {
		t.Error("request no-cache needs a successful validation, even when the stored response is fresh")
	}
}

func TestKeys(t *testing.T) {
	if PrimaryKey("HEAD", "http://a/x") != PrimaryKey("GET", "http://a/x") {
		t.Error("HEAD and GET must share a key")
	}
	fwd := PrimaryKey("GET", "http://127.0.0.1:8000/")
	rev := ReverseKey("GET", "http://127.0.0.1:9000", "http://127.0.0.1:8000/")
	if fwd == rev || rev == ReverseKey("GET", "http://127.0.0.1:9001", "http://127.0.0.1:8000/") {
		t.Errorf("reverse and forward keys must live in separate spaces: %q %q", fwd, rev)
	}
	if ReverseKey("HEAD", "u", "http://a/") != ReverseKey("GET", "u", "http://a/") {
		t.Error("HEAD and GET must share a reverse key")
	}
	fields, star := VaryFields(hdr("Vary", "accept-encoding, Accept", "Vary", "Accept-Language"))
	if star || !slices.Equal(fields, []string{"Accept-Encoding", "Accept", "Accept-Language"}) {
		t.Errorf("VaryFields = %v %v", fields, star)
	}
	if _, star := VaryFields(hdr("Vary", "Accept", "Vary", " * ")); !star {
		t.Error("* on a second Vary line must count")
	}
	a := SecondaryKey([]string{"Accept-Encoding", "Accept"}, hdr("Accept-Encoding", "gzip,  br", "Accept", "text/html"))
	b := SecondaryKey([]string{"Accept", "Accept-Encoding"}, hdr("Accept-Encoding", "gzip, br", "Accept", "text/html"))
	c := SecondaryKey([]string{"Accept", "Accept-Encoding"}, hdr("Accept-Encoding", "gzip", "Accept", "text/html"))
	if a != b || a == c {
		t.Errorf("secondary keys: %q %q %q", a, b, c)
	}
}

func TestValidation(t *testing.T) {
	lm := FormatHTTPDate(t0)
	stored := hdr("Etag", `"v1"`, "Last-Modified", lm, "Content-Length", "5", "Cache-Control", "max-age=1", "X-Old", "o")
	c := ConditionalHeader(stored)
	if c["If-None-Match"][0] != `"v1"` || c["If-Modified-Since"][0] != lm {
		t.Errorf("ConditionalHeader = %v", c)
	}
	if len(ConditionalHeader(hdr())) != 0 {
		t.Error("no validators, no conditional header")
	}
	if !Selects304(stored, hdr("Etag", `"v1"`)) || Selects304(stored, hdr("Etag", `"v2"`)) {
		t.Error("Selects304 ETag")
	}
	if !Selects304(stored, hdr("Etag", `W/"v1"`)) {
		t.Error("Selects304 weak ETag")
	}
	if !Selects304(stored, hdr("Last-Modified", lm)) || Selects304(stored, hdr("Last-Modified", FormatHTTPDate(t0.Add(time.Second)))) {
		t.Error("Selects304 Last-Modified")
	}
	up := Update304(stored, hdr("Cache-Control", "max-age=100", "Content-Length", "0", "Connection", "X-Hop", "X-Hop", "1", "X-New", "n", "Set-Cookie", "s=1"), nil)
	if up["Cache-Control"][0] != "max-age=100" || up["Content-Length"][0] != "5" || up["X-New"] == nil || up["X-Old"] == nil || up["X-Hop"] != nil || up["Set-Cookie"] != nil {
		t.Errorf("Update304 = %v", up)
	}
	if stored["X-New"] != nil {
		t.Error("Update304 modified its input")
	}
	if HeadInvalidates(stored, hdr("Etag", `"v1"`, "Content-Length", "5")) {
		t.Error("matching HEAD must not invalidate")
	}
	if !HeadInvalidates(stored, hdr("Content-Length", "6")) || !HeadInvalidates(stored, hdr("Etag", `"v2"`)) {
		t.Error("differing HEAD must invalidate")
	}
	if !NotModified(hdr("If-None-Match", `"x", W/"v1"`), stored) || NotModified(hdr("If-None-Match", `"x"`), stored) {
		t.Error("NotModified If-None-Match")
	}
	if !NotModified(hdr("If-Modified-Since", lm), stored) || NotModified(hdr("If-Modified-Since", FormatHTTPDate(t0.Add(-time.Second))), stored) {
		t.Error("NotModified If-Modified-Since")
	}
}

func TestInvalidates(t *testing.T) {
	tests := []struct {
		method string
		status int
		h      Header
		want   []string
	}{
		{"POST", 201, hdr("Location", "/new", "Content-Location", "http://a/c"), []string{"http://a/x", "http://a/new", "http://a/c"}},
		{"PUT", 204, hdr("Location", "http://other/y"), []string{"http://a/x"}},
		{"DELETE", 200, hdr(), []string{"http://a/x"}},
		{"PATCH", 302, hdr(), []string{"http://a/x"}},
		{"FROB", 200, hdr(), []string{"http://a/x"}},
		{"POST", 500, hdr(), nil},
		{"POST", 404, hdr(), nil},
		{"GET", 200, hdr(), nil},
		{"OPTIONS", 200, hdr(), nil},
	}
	for _, tc := range tests {
		got := Invalidates(tc.method, tc.status, "http://a/x", tc.h)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Invalidates(%s %d) = %v, want %v", tc.method, tc.status, got, tc.want)
		}
	}
}

func TestCacheStatus(t *testing.T) {
	tests := []struct {
		s    CacheStatus
		want string
	}{
		{CacheStatus{Cache: "socklab", Hit: true, TTL: 42 * time.Second, HasTTL: true}, "socklab; hit; ttl=42"},
		{CacheStatus{Cache: "socklab", Fwd: FwdURIMiss, FwdStatus: 200, Stored: true, TTL: 60 * time.Second, HasTTL: true}, "socklab; fwd=uri-miss; fwd-status=200; stored; ttl=60"},
		{CacheStatus{Cache: "socklab", Hit: true, Collapsed: true}, "socklab; hit; collapsed"},
		{CacheStatus{Cache: "socklab", Fwd: FwdStale, FwdStatus: 503, TTL: -5 * time.Second, HasTTL: true, Detail: "stale-if-error"}, "socklab; fwd=stale; fwd-status=503; ttl=-5; detail=stale-if-error"},
		{CacheStatus{Cache: "socklab", Fwd: FwdBypass, Detail: "two words"}, `socklab; fwd=bypass; detail="two words"`},
	}
	for _, tc := range tests {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestRemoveHopByHop(t *testing.T) {
	h := hdr("Connection", "keep-alive, X-Secret", "X-Secret", "s", "Te", "trailers", "Upgrade", "h2c", "Proxy-Authorization", "p", "X-Ok", "1")
	RemoveHopByHop(h)
	if len(h) != 1 || h["X-Ok"] == nil {
		t.Errorf("after RemoveHopByHop: %v", h)
	}
}

func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60, public", `no-cache="a, b"`, `private="x\"y"`, "max-stale", "s-maxage=\"5\",,", "=", `"`, "max-age=99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseCacheControl(Header{"Cache-Control": {s}})
		for _, v := range []time.Duration{d.MaxAge, d.SMaxAge, d.MinFresh, d.MaxStale, d.StaleWhileRevalidate, d.StaleIfError} {
			if v < -1 || v > MaxDelta {
				t.Fatalf("ParseCacheControl(%q): duration %v out of range", s, v)
			}
		}
		for _, name := range append(d.NoCacheFields, d.PrivateFields...) {
			if !isToken(name) {
				t.Fatalf("ParseCacheControl(%q): field name %q is not a token", s, name)
			}
		}
		// Policy decisions on the same header never panic either.
		r := &Response{Status: 200, Header: Header{"Cache-Control": {s}, "Cdn-Cache-Control": {s}, "Age": {s}, "Expires": {s}, "Vary": {s}}, RequestTime: t0, ResponseTime: t0, Targets: NewTargets("")}
		_ = Reuse(Request{Method: "GET", Header: Header{"Cache-Control": {s}}}, r, t0.Add(time.Second))
		_, _ = Storable(Request{Method: "GET", Header: Header{}}, 200, r.Header, NewTargets("X-Own-Cache-Control"))
		_ = StorageHeader(r.Header, NewTargets(""))
	})
}

func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"0", "10, 20", "-1", "1e3", "999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := ParseAge(Header{"Age": {s}}); ok && (d < 0 || d > MaxDelta) {
			t.Fatalf("ParseAge(%q) = %v", s, d)
		}
	})
}
