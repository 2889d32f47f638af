package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestProxyFlagErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad allow", []string{"--allow", "not-a-cidr"}, ExitUsage, "--allow"},
		{"bad upstream", []string{"--upstream", "ftp://x"}, ExitUsage, "--upstream"},
		{"bad cache size", []string{"--cache-size", "lots"}, ExitUsage, "--cache-size"},
		{"bad object size", []string{"--max-object-size", "0"}, ExitUsage, "--max-object-size"},
		{"bad connect port", []string{"--connect-ports", "70000"}, ExitUsage, "connect port 70000"},
		{"bad targeted field", []string{"--targeted-cache-control", "a b"}, ExitUsage, "--targeted-cache-control"},
		{"unknown store", []string{"--cache-store", "disk"}, ExitUsage, "--cache-store"},
		{"bad redis url", []string{"--cache-store", "redis://127.0.0.1:port/0"}, ExitUsage, "--cache-store"},
		{"bad l1 size", []string{"--cache-store", "redis://127.0.0.1:1/0", "--l1-size", "lots"}, ExitUsage, "--l1-size"},
		{"bad chunk size", []string{"--cache-store", "redis://127.0.0.1:1/0", "--cache-store-chunk", "10"}, ExitUsage, "--cache-store-chunk"},
		{"bad store timeout", []string{"--cache-store", "redis://127.0.0.1:1/0", "--cache-store-timeout", "0s"}, ExitUsage, "--cache-store-timeout"},
		{"address in use", []string{"--http", ln.Addr().String()}, ExitFailure, ln.Addr().String()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"proxy", "--udp", ""}, tc.args...)
			code, _, stderr := run(t, "", args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (a command's
// output read while it runs).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProxyCommandServesAndStops(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "from origin")
	}))
	defer origin.Close()
	cmd := startCmd(t, []string{"proxy http", "admin"},
		"proxy", "--http", "127.0.0.1:0", "--upstream", origin.URL, "--admin", "127.0.0.1:0", "--udp", "")
	httpAddr, adminAddr := cmd.addrs["proxy http"], cmd.addrs["admin"]
	client := &http.Client{Timeout: cmdTimeout}
	get := func(url string) (*http.Response, string) {
		t.Helper()
		r, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r, string(b)
	}
	for _, want := range []string{"MISS", "HIT"} {
		r, body := get("http://" + httpAddr + "/page")
		if body != "from origin" || r.Header.Get("X-Cache") != want {
			t.Fatalf("%s: %q %q", want, r.Header.Get("X-Cache"), body)
		}
	}
	_, body := get("http://" + adminAddr + "/_socklab/stats")
	var st map[string]any
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("stats %q: %v", body, err)
	}
	if st["hits"] != 1.0 || st["misses"] != 1.0 || st["stored_objects"] == nil {
		t.Errorf("stats %v", st)
	}
	if _, ok := st["udp"]; !ok {
		t.Errorf("stats lack the udp section: %v", st)
	}
	if code := cmd.stop(t); code != ExitOK {
		t.Fatalf("exit %d: %s", code, cmd.stderr.String())
	}
	log := cmd.stderr.String()
	if !strings.Contains(log, "GET http://"+httpAddr+"/page 200 11") || !strings.Contains(log, " HIT") {
		t.Errorf("access log missing: %s", log)
	}
}
