package webserver

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseRanges(t *testing.T) {
	for _, tc := range []struct {
		h    string
		size int64
		want []byteRange
		ok   bool
	}{
		{"bytes=0-0", 10, []byteRange{{0, 0}}, true},
		{"bytes=2-", 10, []byteRange{{2, 9}}, true},
		{"bytes=-3", 10, []byteRange{{7, 9}}, true},
		{"bytes=-30", 10, []byteRange{{0, 9}}, true},
		{"bytes= 1-2 , 5-50", 10, []byteRange{{1, 2}, {5, 9}}, true},
		{"bytes=20-30,1-1", 10, []byteRange{{1, 1}}, true}, // unsatisfiable one dropped
		{"bytes=-0", 10, nil, true},
		{"bytes=5-2", 10, nil, false},
		{"bytes=x-1", 10, nil, false},
		{"items=0-1", 10, nil, false},
		{"bytes=1", 10, nil, false},
	} {
		got, ok := parseRanges(tc.h, tc.size)
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("parseRanges(%q, %d) = %v %v, want %v %v", tc.h, tc.size, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCoalesce(t *testing.T) {
	for _, tc := range []struct {
		in   []byteRange
		gap  int64
		want []byteRange
	}{
		{[]byteRange{{0, 0}, {0, 0}, {0, 0}}, 0, []byteRange{{0, 0}}},
		{[]byteRange{{50, 60}, {0, 9}, {10, 20}}, 0, []byteRange{{0, 20}, {50, 60}}}, // adjacent, out of order
		{[]byteRange{{0, 9}, {15, 20}}, 5, []byteRange{{0, 20}}},                     // gap of 5 ≤ 5
		{[]byteRange{{0, 9}, {16, 20}}, 5, []byteRange{{0, 9}, {16, 20}}},
		{[]byteRange{{0, 100}, {10, 20}}, 0, []byteRange{{0, 100}}}, // contained
	} {
		if got := coalesce(slices.Clone(tc.in), tc.gap); !slices.Equal(got, tc.want) {
			t.Errorf("coalesce(%v, %d) = %v, want %v", tc.in, tc.gap, got, tc.want)
		}
	}
}

// FuzzParseRanges: any header parses without panicking into satisfiable
// ranges, and coalescing them gives ascending, disjoint ranges covering no
// more than the representation.
func FuzzParseRanges(f *testing.F) {
	for _, s := range []string{"bytes=0-0,0-0", "bytes=-5,3-", "bytes=1-2, 4-9", "bytes=99999999999999999999-1"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			return // sizes come from stat: never negative
		}
		rs, ok := parseRanges(h, size)
		if !ok || len(rs) == 0 {
			return
		}
		for _, r := range rs {
			if r.first < 0 || r.last < r.first || r.last >= size {
				t.Fatalf("%q size %d: range %v", h, size, r)
			}
		}
		var total int64
		out := coalesce(rs, 100)
		for i, r := range out {
			total += r.last - r.first + 1
			if i > 0 && r.first <= out[i-1].last+1 {
				t.Fatalf("%q: %v not disjoint", h, out)
			}
		}
		if total > size {
			t.Fatalf("%q: %d bytes of ranges from %d", h, total, size)
		}
	})
}

// TestHostileRanges (issue 13 #11): many, overlapping or tiny ranges never
// make a response larger than the file plus one part's overhead; ranges
// that overlap or touch are coalesced; more than MaxRanges after that get
// the whole file as a 200.
func TestHostileRanges(t *testing.T) {
	root := testRoot(t)
	const size = 2000
	body := make([]byte, size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	big := make([]byte, 400_000)
	if err := os.WriteFile(filepath.Join(root, "2k.bin"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "400k.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _, _ := startServer(t, Config{Root: root})
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return "bytes=" + strings.Join(parts, ",")
	}
	for _, tc := range []struct {
		name, path, rng string
		code            int
		parts           int    // multipart parts; 0: not multipart
		contentRange    string // for a single-range 206
		maxBody         int
	}{
		{"1000 × 0-0", "/2k.bin", many(1000, func(int) string { return "0-0" }), 206, 0, "bytes 0-0/2000", 1},
		{"1000 × suffix -1", "/2k.bin", many(1000, func(int) string { return "-1" }), 206, 0, "bytes 1999-1999/2000", 1},
		{"overlapping and adjacent", "/2k.bin", "bytes=0-99,50-149,150-199", 206, 0, "bytes 0-199/2000", 200},
		{"out of order", "/2k.bin", "bytes=1500-1599,0-9", 206, 2, "", size + 200},
		{"every other byte", "/2k.bin", many(1000, func(i int) string { return itoa(2*i) + "-" + itoa(2*i) }), 206, 0, "bytes 0-1998/2000", size},
		{"gaps just over a part", "/400k.bin", many(150, func(i int) string { return itoa(2000*i) + "-" + itoa(2000*i) }), 206, 150, "", 400_000 + 200},
		{"more than MaxRanges", "/400k.bin", many(300, func(i int) string { return itoa(1000*i) + "-" + itoa(1000*i) }), 200, 0, "", 400_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+addr+tc.path, nil)
			req.Header.Set("Range", tc.rng)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if len(b) > tc.maxBody {
				t.Fatalf("body %d bytes, want at most %d", len(b), tc.maxBody)
			}
			mt, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			if tc.parts == 0 {
				if mt == "multipart/byteranges" {
					t.Fatal("multipart, want a single range")
				}
				if got := resp.Header.Get("Content-Range"); got != tc.contentRange {
					t.Fatalf("Content-Range %q, want %q", got, tc.contentRange)
				}
				return
			}
			if mt != "multipart/byteranges" {
				t.Fatalf("Content-Type %q, want multipart", mt)
			}
			mr := multipart.NewReader(bytes.NewReader(b), params["boundary"])
			n := 0
			prev := int64(-1)
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				var first, last, total int64
				fmt.Sscanf(p.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &total)
				if first <= prev {
					t.Fatalf("part %d starts at %d, after %d: not ascending", n, first, prev)
				}
				prev = last
				n++
			}
			if n != tc.parts {
				t.Fatalf("%d parts, want %d", n, tc.parts)
			}
		})
	}
}
