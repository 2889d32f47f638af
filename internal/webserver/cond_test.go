package webserver

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestEvalConditions: RFC 9110 §13.2.2's evaluation order over a
// representation with a strong ETag and a modification time, socket-free.
func TestEvalConditions(t *testing.T) {
	const etag = `"abc"`
	mod := time.Date(2025, 3, 1, 12, 0, 0, 500e6, time.UTC) // sub-second: Last-Modified drops it
	at := func(d time.Duration) string { return mod.Add(d).Format(http.TimeFormat) }
	for _, tc := range []struct {
		name   string
		method string
		c      conditions
		status int
		rng    string
	}{
		{"none", "GET", conditions{}, 0, ""},
		// §13.1.1 If-Match: strong comparison; "*" matches any current representation.
		{"if-match same", "GET", conditions{ifMatch: etag}, 0, ""},
		{"if-match in list", "GET", conditions{ifMatch: `"x", "abc"`}, 0, ""},
		{"if-match star", "GET", conditions{ifMatch: "*"}, 0, ""},
		{"if-match other 412", "GET", conditions{ifMatch: `"x"`}, 412, ""},
		{"if-match weak never matches 412", "GET", conditions{ifMatch: `W/"abc"`}, 412, ""},
		{"if-match garbage 412", "GET", conditions{ifMatch: `abc`}, 412, ""},
		// §13.1.4 If-Unmodified-Since, only without If-Match.
		{"ius later", "GET", conditions{ifUnmodifiedSince: at(time.Hour)}, 0, ""},
		{"ius same second", "GET", conditions{ifUnmodifiedSince: at(0)}, 0, ""},
		{"ius earlier 412", "GET", conditions{ifUnmodifiedSince: at(-time.Hour)}, 412, ""},
		{"ius bad date ignored", "GET", conditions{ifUnmodifiedSince: "yesterday"}, 0, ""},
		{"if-match wins over ius", "GET", conditions{ifMatch: etag, ifUnmodifiedSince: at(-time.Hour)}, 0, ""},
		// §13.1.2 If-None-Match: weak comparison; 304 for GET/HEAD, else 412.
		{"inm same 304", "GET", conditions{ifNoneMatch: etag}, 304, ""},
		{"inm weak 304", "HEAD", conditions{ifNoneMatch: `W/"abc"`}, 304, ""},
		{"inm star 304", "GET", conditions{ifNoneMatch: "*"}, 304, ""},
		{"inm list 304", "GET", conditions{ifNoneMatch: ` "x" ,"abc"`}, 304, ""},
		{"inm other", "GET", conditions{ifNoneMatch: `"x"`}, 0, ""},
		{"inm same on POST 412", "POST", conditions{ifNoneMatch: etag}, 412, ""},
		// §13.1.3 If-Modified-Since: only without If-None-Match, only GET/HEAD.
		{"ims same second 304", "GET", conditions{ifModifiedSince: at(0)}, 304, ""},
		{"ims later 304", "GET", conditions{ifModifiedSince: at(time.Hour)}, 304, ""},
		{"ims earlier", "GET", conditions{ifModifiedSince: at(-time.Hour)}, 0, ""},
		{"ims bad date ignored", "GET", conditions{ifModifiedSince: "soon"}, 0, ""},
		{"ims on POST ignored", "POST", conditions{ifModifiedSince: at(time.Hour)}, 0, ""},
		{"inm other wins over ims", "GET", conditions{ifNoneMatch: `"x"`, ifModifiedSince: at(time.Hour)}, 0, ""},
		// §13.1.5 If-Range: the range applies only if the validator matches.
		{"range alone", "GET", conditions{rng: "bytes=0-1"}, 0, "bytes=0-1"},
		{"if-range etag match", "GET", conditions{rng: "bytes=0-1", ifRange: etag}, 0, "bytes=0-1"},
		{"if-range etag other", "GET", conditions{rng: "bytes=0-1", ifRange: `"x"`}, 0, ""},
		{"if-range weak etag", "GET", conditions{rng: "bytes=0-1", ifRange: `W/"abc"`}, 0, ""},
		{"if-range date exact", "GET", conditions{rng: "bytes=0-1", ifRange: at(0)}, 0, "bytes=0-1"},
		{"if-range date other", "GET", conditions{rng: "bytes=0-1", ifRange: at(time.Hour)}, 0, ""},
		{"if-range garbage", "GET", conditions{rng: "bytes=0-1", ifRange: "whenever"}, 0, ""},
		// §13.2.2 order: a failed precondition ends before the range is looked at.
		{"412 before range", "GET", conditions{ifMatch: `"x"`, rng: "bytes=0-1"}, 412, ""},
		{"304 before range", "GET", conditions{ifNoneMatch: etag, rng: "bytes=0-1"}, 304, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, rng := evalConditions(tc.method, tc.c, etag, mod)
			if status != tc.status || rng != tc.rng {
				t.Fatalf("evalConditions = %d %q, want %d %q", status, rng, tc.status, tc.rng)
			}
		})
	}
}

// TestEvalConditionsNoModTime: without a modification time (embedded
// files) the date conditions are ignored and If-Range by date fails.
func TestEvalConditionsNoModTime(t *testing.T) {
	date := "Sat, 01 Mar 2025 12:00:00 GMT"
	for _, c := range []conditions{{ifModifiedSince: date}, {ifUnmodifiedSince: date}} {
		if status, _ := evalConditions("GET", c, `"e"`, time.Time{}); status != 0 {
			t.Errorf("%+v: %d, want 0", c, status)
		}
	}
	if _, rng := evalConditions("GET", conditions{rng: "bytes=0-0", ifRange: date}, `"e"`, time.Time{}); rng != "" {
		t.Errorf("If-Range by date without a modification time kept the range")
	}
}

func TestScanETag(t *testing.T) {
	for _, tc := range []struct{ in, tag, rest string }{
		{`"a"`, `"a"`, ""},
		{` W/"a", "b"`, `W/"a"`, `, "b"`},
		{`"a b"`, "", ""}, // a space is not an etagc (§8.8.3)
		{`"`, "", ""},
		{`a`, "", ""},
		{`"unterminated`, "", ""},
	} {
		if tag, rest := scanETag(tc.in); tag != tc.tag || rest != tc.rest {
			t.Errorf("scanETag(%q) = %q %q, want %q %q", tc.in, tag, rest, tc.tag, tc.rest)
		}
	}
}

// TestSelectRanges: what a Range field selects (RFC 9110 §14.2), with
// issue 13's coalescing and cap.
func TestSelectRanges(t *testing.T) {
	many := "bytes=0-0"
	for i := 1; i <= MaxRanges; i++ {
		many += "," + itoa(i*1000) + "-" + itoa(i*1000)
	}
	for _, tc := range []struct {
		name string
		h    string
		size int64
		want []byteRange
		code int
	}{
		{"absent", "", 100, nil, 200},
		{"single", "bytes=2-5", 100, []byteRange{{2, 5}}, 206},
		{"open end", "bytes=90-", 100, []byteRange{{90, 99}}, 206},
		{"suffix", "bytes=-3", 100, []byteRange{{97, 99}}, 206},
		{"past the end clipped", "bytes=95-500", 100, []byteRange{{95, 99}}, 206},
		{"unsatisfiable 416", "bytes=100-200", 100, nil, 416},         // §15.5.17
		{"unsatisfiable on empty file 200", "bytes=0-5", 0, nil, 200}, // sent whole, as net/http did
		{"malformed 416", "bytes=5-2", 100, nil, 416},                 // as net/http did
		{"other unit 416", "items=0-1", 100, nil, 416},                // as net/http did
		{"empty list 200", "bytes=,", 100, nil, 200},                  // no range in it
		{"one unsatisfiable dropped", "bytes=200-300,1-1", 100, []byteRange{{1, 1}}, 206},
		{"coalesced", "bytes=0-0,0-0,1-1", 100, []byteRange{{0, 1}}, 206}, // §15.3.7.2
		{"apart", "bytes=0-0,9000-9000", 10000, []byteRange{{0, 0}, {9000, 9000}}, 206},
		{"more than MaxRanges 200", many, 1 << 20, nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, code := selectRanges(tc.h, tc.size, "application/octet-stream")
			if code != tc.code || !slices.Equal(got, tc.want) {
				t.Fatalf("selectRanges(%q, %d) = %v %d, want %v %d", tc.h, tc.size, got, code, tc.want, tc.code)
			}
		})
	}
}
