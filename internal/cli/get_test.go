package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clearProxyEnv empties every proxy variable for the test.
func clearProxyEnv(t *testing.T) {
	for _, k := range []string{"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "REQUEST_METHOD"} {
		t.Setenv(k, "")
	}
}

// seenRequest is what the curl-habits origin received.
type seenRequest struct {
	Method, Path, ContentType, Body string
}

// curlOrigin answers /redirect/CODE with a redirect to /final, /slow after
// a while, anything else with 200; it records each request.
func curlOrigin(t *testing.T) (*httptest.Server, func() []seenRequest) {
	var mu sync.Mutex
	var seen []seenRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenRequest{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		switch {
		case r.URL.Path == "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/redirect/"):
			code := map[string]int{"302": 302, "307": 307, "301": 301}[strings.TrimPrefix(r.URL.Path, "/redirect/")]
			w.Header().Set("Location", "/final")
			w.WriteHeader(code)
		case r.URL.Path == "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			w.Header().Set("X-Origin", "yes")
			io.WriteString(w, "hello")
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seenRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenRequest(nil), seen...)
	}
}

func TestGetCurlHabits(t *testing.T) {
	clearProxyEnv(t)
	lab := newClientLab(t)
	origin, seen := curlOrigin(t)

	t.Run("HTTP_PROXY honoured, NO_PROXY and -x win", func(t *testing.T) {
		t.Setenv("HTTP_PROXY", lab.proxy.URL)
		code, out, stderr := run(t, "", "get", lab.origin.URL+"/env")
		if code != ExitOK || !strings.Contains(out, "via "+lab.proxy.URL) || !strings.Contains(out, "cache      MISS") {
			t.Fatalf("HTTP_PROXY ignored: exit %d\n%s%s", code, out, stderr)
		}
		t.Setenv("NO_PROXY", "127.0.0.1")
		code, out, _ = run(t, "", "get", lab.origin.URL+"/env")
		if code != ExitOK || strings.Contains(out, "via ") || strings.Contains(out, "cache ") {
			t.Fatalf("NO_PROXY ignored: exit %d\n%s", code, out)
		}
		t.Setenv("NO_PROXY", "")
		t.Setenv("HTTP_PROXY", "http://"+clientDeadAddr(t))
		code, out, _ = run(t, "", "get", "-x", lab.proxy.URL, lab.origin.URL+"/env")
		if code != ExitOK || !strings.Contains(out, "cache      HIT") {
			t.Fatalf("-x did not override HTTP_PROXY: exit %d\n%s", code, out)
		}
		code, out, _ = run(t, "", "get", "--proxy", "", lab.origin.URL+"/env")
		if code != ExitOK || strings.Contains(out, "via ") {
			t.Fatalf(`--proxy "" did not turn the proxy off: exit %d\n%s`, code, out)
		}
	})
	t.Run("-I -v", func(t *testing.T) {
		code, out, stderr := run(t, "", "get", "-I", "-v", origin.URL+"/head")
		if code != ExitOK || !strings.Contains(out, "HEAD "+origin.URL+"/head") || !strings.Contains(out, "X-Origin: yes") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		for _, want := range []string{"> HEAD /head HTTP/1.1\n", "> Host: " + strings.TrimPrefix(origin.URL, "http://") + "\n", "> User-Agent: socklab-get\n", "< HTTP/1.1 200 OK\n", "< X-Origin: yes\n"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("-v stderr lacks %q:\n%s", want, stderr)
			}
		}
		if last := seen()[len(seen())-1]; last.Method != http.MethodHead {
			t.Fatalf("origin saw %+v", last)
		}
	})
	t.Run("-d literal, @file, @-", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "body.txt")
		if err := os.WriteFile(file, []byte("from=file"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			args  []string
			stdin string
			want  seenRequest
		}{
			{[]string{"-d", "a=1"}, "", seenRequest{"POST", "/post", "application/x-www-form-urlencoded", "a=1"}},
			{[]string{"--data", "@" + file, "-H", "Content-Type: text/plain"}, "", seenRequest{"POST", "/post", "text/plain", "from=file"}},
			{[]string{"-d", "@-", "-X", "PUT"}, "from=stdin", seenRequest{"PUT", "/post", "application/x-www-form-urlencoded", "from=stdin"}},
		} {
			code, out, stderr := run(t, tt.stdin, append(append([]string{"get"}, tt.args...), origin.URL+"/post")...)
			if code != ExitOK {
				t.Fatalf("%v: exit %d\n%s%s", tt.args, code, out, stderr)
			}
			if got := seen()[len(seen())-1]; got != tt.want {
				t.Fatalf("%v: origin saw %+v, want %+v", tt.args, got, tt.want)
			}
		}
		if code, _, stderr := run(t, "", "get", "-d", "@/nonexistent/x", origin.URL); code != ExitFailure || !strings.Contains(stderr, "--data") {
			t.Fatalf("missing -d file: exit %d %s", code, stderr)
		}
	})
	t.Run("-m seconds", func(t *testing.T) {
		start := time.Now()
		code, _, stderr := run(t, "", "get", "-m", "0.2", origin.URL+"/slow")
		if code != ExitFailure || !(strings.Contains(stderr, "timeout") || strings.Contains(stderr, "deadline exceeded")) {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Fatalf("-m 0.2 took %s: the origin's 5 s, not the limit", d)
		}
	})
	t.Run("-L", func(t *testing.T) {
		for _, tt := range []struct {
			code       string
			wantMethod string
		}{{"302", "GET"}, {"301", "GET"}, {"307", "POST"}} {
			code, out, stderr := run(t, "", "get", "--json", "-L", "-d", "x=1", origin.URL+"/redirect/"+tt.code)
			var rep struct {
				Requests []struct {
					Status int    `json:"status"`
					URL    string `json:"url"`
				} `json:"requests"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil || code != ExitOK {
				t.Fatalf("exit %d %v\n%s%s", code, err, out, stderr)
			}
			if len(rep.Requests) != 2 || rep.Requests[1].Status != 200 || rep.Requests[1].URL != origin.URL+"/final" {
				t.Fatalf("%s: %d responses, want the redirect then the final 200", tt.code, len(rep.Requests))
			}
			if last := seen()[len(seen())-1]; last.Method != tt.wantMethod || last.Path != "/final" {
				t.Fatalf("%s: origin saw %+v last, want %s /final", tt.code, last, tt.wantMethod)
			}
		}
		code, out, _ := run(t, "", "get", origin.URL+"/redirect/302")
		if code != ExitOK || !strings.Contains(out, "302 Found") || strings.Count(out, "GET ") != 1 {
			t.Fatalf("without -L the redirect must not be followed: exit %d\n%s", code, out)
		}
		code, _, stderr := run(t, "", "get", "-L", "--max-redirs", "3", origin.URL+"/loop")
		if code != ExitFailure || !strings.Contains(stderr, "maximum (3) redirects") {
			t.Fatalf("redirect loop: exit %d %s", code, stderr)
		}
	})
}

// TestLoadHeyHabits: hey's body, method and content-type flags, its duration
// alias, and its distinct error messages.
func TestLoadHeyHabits(t *testing.T) {
	clearProxyEnv(t)
	origin, seen := curlOrigin(t)
	file := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(file, []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want seenRequest
	}{
		{[]string{"--body", "x=1", "-T", "text/plain"}, seenRequest{"POST", "/post", "text/plain", "x=1"}},
		{[]string{"-D", file, "-T", "application/json", "-m", "PUT"}, seenRequest{"PUT", "/post", "application/json", `{"a":1}`}},
		{[]string{"-m", "DELETE"}, seenRequest{"DELETE", "/post", "", ""}},
	} {
		before := len(seen())
		code, out, stderr := run(t, "", append(append([]string{"load", "-c", "1", "-n", "3"}, tt.args...), origin.URL+"/post")...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d\n%s%s", tt.args, code, out, stderr)
		}
		got := seen()[before:]
		if len(got) != 3 || got[0] != tt.want || got[2] != tt.want {
			t.Fatalf("%v: origin saw %+v, want 3× %+v", tt.args, got, tt.want)
		}
	}

	code, out, _ := run(t, "", "load", "--json", "-c", "1", "-z", "0.3", origin.URL+"/")
	var r struct {
		DurationMs float64 `json:"duration_ms"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != ExitOK || r.DurationMs < 250 || r.DurationMs > 5000 {
		t.Fatalf("-z 0.3: exit %d %v duration %.0f ms", code, err, r.DurationMs)
	}

	dead := clientDeadAddr(t)
	code, out, _ = run(t, "", "load", "-c", "1", "-n", "4", "http://"+dead+"/")
	if code != ExitFailure || !strings.Contains(out, "    [4] ") || !strings.Contains(out, dead+": connect: connection refused") {
		t.Fatalf("want hey's error distribution, exit %d:\n%s", code, out)
	}
	_, out, _ = run(t, "", "load", "--json", "-c", "2", "-n", "4", "http://"+dead+"/")
	var doc struct {
		ErrorMessages []struct {
			Message string `json:"message"`
			Count   int64  `json:"count"`
		} `json:"error_messages"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.ErrorMessages) != 1 || doc.ErrorMessages[0].Count != 4 {
		t.Fatalf("error_messages %+v (%v): the local port must not make messages distinct\n%s", doc.ErrorMessages, err, out)
	}

	for _, args := range [][]string{
		{"load", "--proxy", "nonsense", origin.URL},
		{"load", "--body", "x", "-D", file, origin.URL},
	} {
		if code, _, stderr := run(t, "", args...); code != ExitUsage {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
	}
	if code, _, stderr := run(t, "", "get", "-x", "nonsense", origin.URL); code != ExitUsage {
		t.Fatalf("get -x nonsense: exit %d %s", code, stderr)
	}
}
