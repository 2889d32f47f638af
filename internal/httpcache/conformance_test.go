package httpcache

import (
	"strings"
	"testing"
	"time"
)

// TestTargetedCacheControl covers RFC 9213: CDN-Cache-Control (and a
// proxy's own field before it) replaces Cache-Control and Expires.
func TestTargetedCacheControl(t *testing.T) {
	date := FormatHTTPDate(t0)
	future := FormatHTTPDate(t0.Add(10000 * time.Second))
	past := FormatHTTPDate(t0.Add(-10000 * time.Second))
	cdn := NewTargets("")
	own := NewTargets("Socklab-Cache-Control")
	tests := []struct {
		name     string
		targets  Targets
		h        Header
		storable bool
		reason   string
		lifetime time.Duration // checked when storable
		fresh    bool          // Reuse says Fresh right away
	}{
		{"RFC9213§2.2 cdn max-age alone", cdn, hdr("Cdn-Cache-Control", "max-age=3600"), true, "", time.Hour, true},
		{"RFC9213§2.2 short cdn max-age beats long CC max-age", cdn, hdr("Cache-Control", "max-age=3600", "Cdn-Cache-Control", "max-age=1"), true, "", time.Second, true},
		{"RFC9213§2.2 long cdn max-age beats short CC max-age", cdn, hdr("Cache-Control", "max-age=1", "Cdn-Cache-Control", "max-age=3600"), true, "", time.Hour, true},
		{"RFC9213§2.2 cdn max-age=0 ignores a future Expires", cdn, hdr("Cdn-Cache-Control", "max-age=0", "Expires", future, "Date", date), true, "", 0, false},
		{"RFC9213§2.2 cdn max-age ignores a past Expires", cdn, hdr("Cdn-Cache-Control", "max-age=3600", "Expires", past, "Date", date), true, "", time.Hour, true},
		{"RFC9213§2.2 cdn max-age ignores an invalid Expires", cdn, hdr("Cdn-Cache-Control", "max-age=3600", "Expires", "0", "Date", date), true, "", time.Hour, true},
		{"RFC9213§2.2 cdn no-store beats fresh CC", cdn, hdr("Cache-Control", "max-age=10000", "Cdn-Cache-Control", "no-store", "Expires", future, "Date", date), false, "no-store", 0, false},
		{"RFC9213§2.2 cdn private beats fresh CC", cdn, hdr("Cache-Control", "max-age=10000", "Cdn-Cache-Control", "private", "Expires", future, "Date", date), false, "private", 0, false},
		{"RFC9213§2.2 cdn no-cache beats fresh CC", cdn, hdr("Cache-Control", "max-age=10000", "Cdn-Cache-Control", "no-cache", "Expires", future, "Date", date, "Last-Modified", past), true, "", 1000 * time.Second, false},
		{"RFC9213§2.2 cdn max-age makes a CC no-store response storable", cdn, hdr("Cache-Control", "no-store", "Cdn-Cache-Control", "max-age=10000"), true, "", 10000 * time.Second, true},
		{"RFC9213§2.2 Age above cdn max-age is stale", cdn, hdr("Cdn-Cache-Control", "max-age=3600", "Age", "7200", "Date", date), true, "", time.Hour, false},
		{"RFC9213§2.1 extension directives ignored", cdn, hdr("Cdn-Cache-Control", "foobar, max-age=3600"), true, "", time.Hour, true},
		{"RFC9213§2.1 huge max-age capped", cdn, hdr("Cdn-Cache-Control", "max-age=99999999999"), true, "", MaxDelta, true},
		{"RFC9213§2.1 invalid field (unknown type) falls back to CC", cdn, hdr("Cdn-Cache-Control", "max-age=10000, &&&&&", "Cache-Control", "no-store"), false, "no-store", 0, false},
		{"RFC9213§2.1 invalid field (wrong type) falls back to CC", cdn, hdr("Cdn-Cache-Control", `max-age="10000"`, "Cache-Control", "no-store"), false, "no-store", 0, false},
		{"RFC9213§2.1 space before = is invalid", cdn, hdr("Cdn-Cache-Control", "max-age =100", "Cache-Control", "max-age=1"), true, "", time.Second, true},
		{"RFC9213§2.1 space after = is invalid", cdn, hdr("Cdn-Cache-Control", "max-age= 100", "Cache-Control", "max-age=1"), true, "", time.Second, true},
		{"RFC9213§2.1 upper-case key is invalid", cdn, hdr("Cdn-Cache-Control", "MaX-aGe=3600", "Cache-Control", "max-age=1"), true, "", time.Second, true},
		{"RFC9213§2.1 empty field is ignored", cdn, hdr("Cdn-Cache-Control", "", "Cache-Control", "max-age=7"), true, "", 7 * time.Second, true},
		{"RFC9213§2.1 parameters ignored", cdn, hdr("Cdn-Cache-Control", "max-age=60;foo=1, public"), true, "", time.Minute, true},
		{"RFC9213§2.2 own field first in the target list", own, hdr("Socklab-Cache-Control", "max-age=5", "Cdn-Cache-Control", "max-age=3600", "Cache-Control", "no-store"), true, "", 5 * time.Second, true},
		{"RFC9213§2.2 own field no-store beats CDN field", own, hdr("Socklab-Cache-Control", "no-store", "Cdn-Cache-Control", "max-age=3600"), false, "no-store", 0, false},
		{"RFC9213§2.2 invalid own field falls to CDN field", own, hdr("Socklab-Cache-Control", "max-age=x y", "Cdn-Cache-Control", "max-age=60"), true, "", time.Minute, true},
		{"RFC9213§2.2 another cache's field is not ours", cdn, hdr("Other-Cache-Control", "max-age=60", "Cache-Control", "no-store"), false, "no-store", 0, false},
		{"RFC9213 nil targets: CDN-Cache-Control ignored", nil, hdr("Cdn-Cache-Control", "no-store", "Cache-Control", "max-age=60"), true, "", time.Minute, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := Storable(Request{Method: "GET", Header: hdr()}, 200, tc.h, tc.targets)
			if ok != tc.storable || reason != tc.reason {
				t.Fatalf("Storable = %v %q, want %v %q", ok, reason, tc.storable, tc.reason)
			}
			if !ok {
				return
			}
			r := (&Response{Status: 200, Header: tc.h, RequestTime: t0, ResponseTime: t0, Targets: tc.targets}).Prepare()
			if lt, _ := r.Lifetime(); lt != tc.lifetime {
				t.Errorf("Lifetime = %v, want %v", lt, tc.lifetime)
			}
			if dec := Reuse(Request{Method: "GET", Header: hdr()}, r, t0); (dec.Action == Fresh) != tc.fresh {
				t.Errorf("Reuse = %v, want fresh %v", dec.Action, tc.fresh)
			}
		})
	}
}

func TestTargetsStripAndNames(t *testing.T) {
	if got := NewTargets("socklab-cache-control"); len(got) != 2 || got[0] != "Socklab-Cache-Control" || got[1] != CDNCacheControl {
		t.Errorf("NewTargets = %v", got)
	}
	if got := NewTargets("CDN-Cache-Control"); len(got) != 1 {
		t.Errorf("NewTargets(CDN-Cache-Control) = %v, want it once", got)
	}
	h := hdr("Socklab-Cache-Control", "max-age=1", "Cdn-Cache-Control", "max-age=2", "Cache-Control", "max-age=3")
	NewTargets("Socklab-Cache-Control").Strip(h)
	if len(h) != 1 || h["Cache-Control"] == nil {
		t.Errorf("RFC9213§2.2 targeted fields not forwarded: left %v", h)
	}
}

// TestParseHTTPDateStrict covers RFC 9110 §5.6.7: the three forms exactly.
func TestParseHTTPDateStrict(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"RFC9110§5.6.7 IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", true},
		{"RFC9110§5.6.7 RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT", true},
		{"RFC9110§5.6.7 asctime", "Sun Nov  6 08:49:37 1994", true},
		{"RFC9110§5.6.7 wrong-case zone accepted", "Sun, 06 Nov 1994 08:49:37 gmt", true},
		{"RFC9110§5.6.7 surrounding OWS trimmed", "  Sun, 06 Nov 1994 08:49:37 GMT ", true},
		{"RFC9110§5.6.7 one-digit hour", "Sun, 06 Nov 1994 8:49:37 GMT", false},
		{"RFC9110§5.6.7 extra space between fields", "Sun, 06 Nov 1994  08:49:37 GMT", false},
		{"RFC9110§5.6.7 extra space after comma", "Sun,  06 Nov 1994 08:49:37 GMT", false},
		{"RFC9110§5.6.7 one-digit day", "Sun, 6 Nov 1994 08:49:37 GMT", false},
		{"RFC9110§5.6.7 other zone", "Sun, 06 Nov 1994 08:49:37 UTC", false},
		{"RFC9110§5.6.7 numeric offset", "Sun, 06 Nov 1994 08:49:37 +0000", false},
		{"RFC9110§5.6.7 lower-case month", "Sun, 06 nov 1994 08:49:37 GMT", false},
		{"RFC9110§5.6.7 hour 24", "Sun, 06 Nov 1994 24:49:37 GMT", false},
		{"RFC9110§5.6.7 asctime two spaces before time", "Sun Nov  6  08:49:37 1994", false},
		{"RFC9110§5.6.7 zero", "0", false},
		{"RFC9110§5.6.7 empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseHTTPDate(tc.in)
			if ok != tc.ok || ok && !got.Equal(want) {
				t.Errorf("ParseHTTPDate(%q) = %v %v, want ok=%v", tc.in, got, ok, tc.ok)
			}
		})
	}
}

// TestMalformedExpiresIsExpired covers RFC 9111 §5.3: an Expires that is
// not a valid HTTP-date means already expired, not fresh.
func TestMalformedExpiresIsExpired(t *testing.T) {
	date := FormatHTTPDate(t0)
	for _, exp := range []string{
		t0.Add(time.Hour).Format("Mon, 02 Jan 2006 3:04:05 GMT"),   // one-digit hour
		t0.Add(time.Hour).Format("Mon, 02 Jan 2006  15:04:05 GMT"), // two spaces
	} {
		t.Run("RFC9111§5.3 "+exp, func(t *testing.T) {
			r := &Response{Status: 200, Header: hdr("Expires", exp, "Date", date), RequestTime: t0, ResponseTime: t0}
			if lt, _ := r.Lifetime(); lt != 0 {
				t.Errorf("Lifetime = %v, want 0 (already expired)", lt)
			}
		})
	}
	// A wrong-case zone in an otherwise valid date is accepted.
	exp := FormatHTTPDate(t0.Add(time.Hour))
	r := &Response{Status: 200, Header: hdr("Expires", strings.TrimSuffix(exp, "GMT")+"gmt", "Date", date), RequestTime: t0, ResponseTime: t0}
	if lt, _ := r.Lifetime(); lt != time.Hour {
		t.Errorf("RFC9110§5.6.7 wrong-case zone: Lifetime = %v, want 1h", lt)
	}
}

func TestConformanceStorable(t *testing.T) {
	get := func(kv ...string) Request { return Request{Method: "GET", Header: hdr(kv...)} }
	post := Request{Method: "POST", Header: hdr(), URI: "http://a/x?q=1"}
	tests := []struct {
		name   string
		req    Request
		status int
		h      Header
		ok     bool
		reason string
	}{
		{"RFC9111§5.2.2.3 must-understand overrides no-store for a known status", get(), 200, hdr("Cache-Control", "no-store, must-understand, max-age=60"), true, ""},
		{"RFC9111§5.2.2.3 must-understand with an unknown status", get(), 299, hdr("Cache-Control", "no-store, must-understand, max-age=60"), false, "must-understand"},
		{"RFC9111§5.2.2.3 must-understand alone on an unknown status", get(), 299, hdr("Cache-Control", "must-understand, max-age=60"), false, "must-understand"},
		{"RFC9111§5.2.2.3 request no-store still wins", get("Cache-Control", "no-store"), 200, hdr("Cache-Control", "no-store, must-understand, max-age=60"), false, "no-store"},
		{"RFC9110§9.3.3 POST with Content-Location = target and max-age", post, 200, hdr("Cache-Control", "max-age=60", "Content-Location", "/x?q=1"), true, ""},
		{"RFC9110§9.3.3 POST with absolute Content-Location", post, 200, hdr("Expires", FormatHTTPDate(t0), "Content-Location", "http://a/x?q=1"), true, ""},
		{"RFC9110§9.3.3 POST with another Content-Location", post, 200, hdr("Cache-Control", "max-age=60", "Content-Location", "/y"), false, "method"},
		{"RFC9110§9.3.3 POST without explicit freshness", post, 200, hdr("Content-Location", "/x?q=1", "Last-Modified", FormatHTTPDate(t0)), false, "method"},
		{"RFC9110§9.3.3 POST without Content-Location", post, 200, hdr("Cache-Control", "max-age=60"), false, "method"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := Storable(tc.req, tc.status, tc.h, NewTargets(""))
			if ok != tc.ok || reason != tc.reason {
				t.Errorf("Storable = %v %q, want %v %q", ok, reason, tc.ok, tc.reason)
			}
		})
	}
}

// TestVaryNormalisation covers RFC 9111 §4.1: selecting header values that
// differ only in ways their semantics ignore select the same response.
func TestVaryNormalisation(t *testing.T) {
	al := []string{"Accept-Language"}
	ae := []string{"Accept-Encoding"}
	tests := []struct {
		name   string
		fields []string
		a, b   Header
		same   bool
	}{
		{"RFC9111§4.1 Accept-Language case", al, hdr("Accept-Language", "en, de"), hdr("Accept-Language", "eN, De"), true},
		{"RFC9111§4.1 Accept-Language order of equal q", al, hdr("Accept-Language", "en, de"), hdr("Accept-Language", "de, en"), true},
		{"RFC9111§4.1 Accept-Language whitespace", al, hdr("Accept-Language", "en, de"), hdr("Accept-Language", " en ,   de"), true},
		{"RFC9111§4.1 Accept-Language explicit q=1", al, hdr("Accept-Language", "en, de;q=0.5"), hdr("Accept-Language", "en;q=1.0, de;q=0.50"), true},
		{"RFC9111§4.1 Accept-Language field lines combined", al, hdr("Accept-Language", "en, de"), hdr("Accept-Language", "de", "Accept-Language", "en"), true},
		{"RFC9111§4.1 Accept-Language different q order", al, hdr("Accept-Language", "en, de;q=0.5"), hdr("Accept-Language", "de, en;q=0.5"), false},
		{"RFC9111§4.1 Accept-Language different set", al, hdr("Accept-Language", "en"), hdr("Accept-Language", "en, fr"), false},
		{"RFC9111§4.1 Accept-Encoding case and order", ae, hdr("Accept-Encoding", "gzip, br"), hdr("Accept-Encoding", "BR,GZIP"), true},
		{"RFC9111§4.1 Accept-Encoding q differs", ae, hdr("Accept-Encoding", "gzip, br"), hdr("Accept-Encoding", "gzip, br;q=0"), false},
		{"RFC9111§4.1 other fields keep case", []string{"Foo"}, hdr("Foo", "A"), hdr("Foo", "a"), false},
		{"RFC9111§4.1 other fields combine lines", []string{"Foo"}, hdr("Foo", "1, 2"), hdr("Foo", "1", "Foo", "2"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := SecondaryKey(tc.fields, tc.a), SecondaryKey(tc.fields, tc.b)
			if (ka == kb) != tc.same {
				t.Errorf("keys %q and %q: same=%v, want %v", ka, kb, ka == kb, tc.same)
			}
		})
	}
}

// TestContentLanguageSelection covers RFC 9111 §4.1 with RFC 9110 §12.5.4:
// a stored response whose Content-Language is the request's most preferred
// language answers it, whatever the request lists at lower q-values.
func TestContentLanguageSelection(t *testing.T) {
	fields := []string{"Accept-Language"}
	stored, ok := ContentLanguageKey(fields, hdr("Accept-Language", "en, de"), hdr("Content-Language", "de"))
	if !ok {
		t.Fatal("ContentLanguageKey: no alias for a single Content-Language")
	}
	tests := []struct {
		name  string
		req   Header
		found bool
	}{
		{"RFC9111§4.1 top preference matches Content-Language", hdr("Accept-Language", "fr;q=0.5, de;q=1.0"), true},
		{"RFC9111§4.1 tie at the top includes it", hdr("Accept-Language", "DE, it"), true},
		{"RFC9111§4.1 another language preferred", hdr("Accept-Language", "fr, de;q=0.5"), false},
		{"RFC9111§4.1 wildcard only", hdr("Accept-Language", "*"), false},
		{"RFC9111§4.1 no Accept-Language", hdr(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			found := false
			for _, k := range LanguageAliasKeys(fields, tc.req) {
				found = found || k == stored
			}
			if found != tc.found {
				t.Errorf("alias found %v, want %v", found, tc.found)
			}
		})
	}
	if _, ok := ContentLanguageKey(fields, hdr("Accept-Language", "en, de;q=0.5"), hdr("Content-Language", "de")); ok {
		t.Error("RFC9111§4.1 a response in a less preferred language keeps the plain key")
	}
	if _, ok := ContentLanguageKey(fields, hdr("Accept-Language", "de"), hdr("Content-Language", "de, en")); ok {
		t.Error("RFC9111§4.1 a multi-language response must not be aliased")
	}
	if _, ok := ContentLanguageKey([]string{"Accept"}, hdr("Accept-Language", "de"), hdr("Content-Language", "de")); ok {
		t.Error("RFC9111§4.1 no alias when Vary does not name Accept-Language")
	}
}

// TestNotModifiedWithoutLastModified covers RFC 9111 §4.3.2: the stored
// response's Date stands in for a missing Last-Modified.
func TestNotModifiedWithoutLastModified(t *testing.T) {
	stored := hdr("Date", FormatHTTPDate(t0), "Cache-Control", "max-age=60")
	tests := []struct {
		name string
		ims  time.Time
		want bool
	}{
		{"RFC9111§4.3.2 IMS equal to Date", t0, true},
		{"RFC9111§4.3.2 IMS after Date", t0.Add(time.Minute), true},
		{"RFC9111§4.3.2 IMS before Date", t0.Add(-time.Minute), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NotModified(hdr("If-Modified-Since", FormatHTTPDate(tc.ims)), stored); got != tc.want {
				t.Errorf("NotModified = %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseHTTPDate(f *testing.F) {
	for _, s := range []string{"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 8:49:37 GMT", "Mon, 31 Feb 2000 00:00:00 gmt", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseHTTPDate(s)
		if !ok {
			return
		}
		// Whatever parses round-trips through the IMF-fixdate form.
		back, ok := ParseHTTPDate(FormatHTTPDate(d))
		if !ok || !back.Equal(d) {
			t.Fatalf("ParseHTTPDate(%q) = %v, which does not round-trip (%v %v)", s, d, back, ok)
		}
	})
}

func FuzzTargetedField(f *testing.F) {
	for _, s := range []string{"max-age=60", "no-store, private", `no-cache="set-cookie"`, "a=(1 2);p, b=?0", "max-age=1.5", `x=:aGk=:`, "max-age=99999999999999999", "&&&", "max-age=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseTargeted([]string{s})
		if !ok {
			return
		}
		for _, v := range []time.Duration{d.MaxAge, d.SMaxAge, d.StaleWhileRevalidate, d.StaleIfError} {
			if v < -1 || v > MaxDelta {
				t.Fatalf("parseTargeted(%q): duration %v out of range", s, v)
			}
		}
		for _, name := range append(d.NoCacheFields, d.PrivateFields...) {
			if !isToken(name) {
				t.Fatalf("parseTargeted(%q): field name %q is not a token", s, name)
			}
		}
	})
}

func FuzzSecondaryKey(f *testing.F) {
	for _, s := range []string{"en, de;q=0.5", "gzip;q=1.0, br", "*;q=0", "a;q=2, b;q=0.0001", ";;,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fields := []string{"Accept-Language", "Accept-Encoding"}
		h := hdr("Accept-Language", s, "Accept-Encoding", s)
		k := SecondaryKey(fields, h)
		// Normalising is idempotent on the normalised form's members.
		if k != SecondaryKey(fields, h) {
			t.Fatal("SecondaryKey is not deterministic")
		}
		_ = LanguageAliasKeys(fields, h)
		_, _ = ContentLanguageKey(fields, h, hdr("Content-Language", s))
	})
}

func TestParseRange(t *testing.T) {
	const size = 11 // "01234567890"
	tests := []struct {
		name string
		in   string
		want []ByteRange
		ok   bool
	}{
		{"RFC9110§14.1.2 byte-range", "bytes=0-1", []ByteRange{{0, 1}}, true},
		{"RFC9110§14.1.2 open-ended", "bytes=1-", []ByteRange{{1, 10}}, true},
		{"RFC9110§14.1.2 suffix", "bytes=-1", []ByteRange{{10, 10}}, true},
		{"RFC9110§14.1.2 suffix longer than the body", "bytes=-100", []ByteRange{{0, 10}}, true},
		{"RFC9110§14.1.2 last past the end is clipped", "bytes=5-100", []ByteRange{{5, 10}}, true},
		{"RFC9110§14.1.2 unit is case-insensitive", "Bytes=0-0", []ByteRange{{0, 0}}, true},
		{"RFC9110§14.1.2 several ranges", "bytes=0-1, 4-5", []ByteRange{{0, 1}, {4, 5}}, true},
		{"RFC9110§14.1.2 unsatisfiable first", "bytes=11-", nil, true},
		{"RFC9110§14.1.2 zero suffix unsatisfiable", "bytes=-0", nil, true},
		{"RFC9110§14.2 other unit ignored", "items=0-1", nil, false},
		{"RFC9110§14.2 last before first ignored", "bytes=5-1", nil, false},
		{"RFC9110§14.2 garbage ignored", "bytes=a-b", nil, false},
		{"RFC9110§14.2 no dash ignored", "bytes=5", nil, false},
		{"RFC9110§14.2 signs ignored", "bytes=+1-2", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseRange(tc.in, size)
			if ok != tc.ok || len(got) != len(tc.want) {
				t.Fatalf("ParseRange(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("range %d = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
	if got := (ByteRange{4, 9}).ContentRange(10); got != "bytes 4-9/10" {
		t.Errorf("ContentRange = %q", got)
	}
}

func TestIfRangeAllows(t *testing.T) {
	lm := FormatHTTPDate(t0)
	stored := hdr("Etag", `"v1"`, "Last-Modified", lm)
	tests := []struct {
		name    string
		ifRange string
		stored  Header
		want    bool
	}{
		{"RFC9110§13.1.5 absent", "", stored, true},
		{"RFC9110§13.1.5 strong tag matches", `"v1"`, stored, true},
		{"RFC9110§13.1.5 other tag", `"v2"`, stored, false},
		{"RFC9110§13.1.5 weak tag never matches", `W/"v1"`, stored, false},
		{"RFC9110§13.1.5 stored weak tag never matches", `"v1"`, hdr("Etag", `W/"v1"`), false},
		{"RFC9110§13.1.5 date equal to Last-Modified", lm, stored, true},
		{"RFC9110§13.1.5 other date", FormatHTTPDate(t0.Add(time.Second)), stored, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := hdr()
			if tc.ifRange != "" {
				req = hdr("If-Range", tc.ifRange)
			}
			if got := IfRangeAllows(req, tc.stored); got != tc.want {
				t.Errorf("IfRangeAllows = %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-1", "bytes=-5", "bytes=3-", "bytes=1-2,,4-", "bytes=999999999999999999999-", "x"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 {
			return
		}
		rs, ok := ParseRange(s, size)
		if !ok && rs != nil {
			t.Fatal("ranges returned with ok false")
		}
		for _, r := range rs {
			if r.First < 0 || r.Last >= size || r.First > r.Last {
				t.Fatalf("ParseRange(%q, %d): range %v outside the body", s, size, r)
			}
		}
	})
}

func TestPartialPolicy(t *testing.T) {
	t.Run("RFC9110§14.4 Content-Range", func(t *testing.T) {
		for in, want := range map[string]bool{"bytes 4-9/10": true, "BYTES 0-0/1": true, "bytes 4-9/*": false, "bytes */10": false, "bytes 5-4/10": false, "bytes 0-10/10": false, "items 0-1/2": false, "bytes 0-1": false} {
			if _, _, ok := ParseContentRange(in); ok != want {
				t.Errorf("ParseContentRange(%q) ok=%v, want %v", in, ok, want)
			}
		}
		if rg, size, _ := ParseContentRange("bytes 4-9/10"); rg != (ByteRange{4, 9}) || size != 10 {
			t.Errorf("ParseContentRange = %v %d", rg, size)
		}
	})
	lm := FormatHTTPDate(t0.Add(-time.Hour))
	tests := []struct {
		name string
		a, b Header
		want bool
	}{
		{"RFC9111§3.4 same strong ETag", hdr("Etag", `"v1"`), hdr("Etag", `"v1"`), true},
		{"RFC9111§3.4 different ETags", hdr("Etag", `"v1"`), hdr("Etag", `"v2"`), false},
		{"RFC9111§3.4 weak ETags never", hdr("Etag", `W/"v1"`), hdr("Etag", `W/"v1"`), false},
		{"RFC9111§3.4 one without ETag", hdr("Etag", `"v1"`), hdr(), false},
		{"RFC9110§8.8.2.2 strong Last-Modified", hdr("Last-Modified", lm, "Date", FormatHTTPDate(t0)), hdr("Last-Modified", lm, "Date", FormatHTTPDate(t0)), true},
		{"RFC9110§8.8.2.2 Last-Modified too close to Date is weak", hdr("Last-Modified", lm, "Date", lm), hdr("Last-Modified", lm, "Date", lm), false},
		{"RFC9111§3.4 no validators", hdr(), hdr(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := StrongMatch(tc.a, tc.b); got != tc.want {
				t.Errorf("StrongMatch = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("RFC9111§3.4 combining", func(t *testing.T) {
		rg, body, ok := CombineParts(ByteRange{0, 4}, []byte("01234"), ByteRange{5, 9}, []byte("56789"))
		if !ok || rg != (ByteRange{0, 9}) || string(body) != "0123456789" {
			t.Errorf("touching parts: %v %q %v", rg, body, ok)
		}
		rg, body, ok = CombineParts(ByteRange{2, 6}, []byte("xxxxx"), ByteRange{0, 3}, []byte("0123"))
		if !ok || rg != (ByteRange{0, 6}) || string(body) != "0123xxx" {
			t.Errorf("overlapping parts, newer wins: %v %q %v", rg, body, ok)
		}
		if _, _, ok := CombineParts(ByteRange{0, 2}, []byte("012"), ByteRange{5, 6}, []byte("56")); ok {
			t.Error("parts with a gap combined")
		}
	})
	t.Run("RFC9111§3.4 completion range", func(t *testing.T) {
		for _, c := range []struct {
			rg   ByteRange
			want string
		}{{ByteRange{0, 4}, "bytes=5-"}, {ByteRange{5, 9}, "bytes=0-4"}, {ByteRange{2, 5}, ""}, {ByteRange{0, 9}, ""}} {
			if got := CompletionRange(c.rg, 10); got != c.want {
				t.Errorf("CompletionRange(%v) = %q, want %q", c.rg, got, c.want)
			}
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 4-9/10", "bytes */10", "bytes 1-2/*", "bytes 99999999999999999999-1/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rg, size, ok := ParseContentRange(s)
		if ok && (rg.First < 0 || rg.First > rg.Last || rg.Last >= size) {
			t.Fatalf("ParseContentRange(%q) = %v/%d", s, rg, size)
		}
	})
}
