package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/proxy/redisstore/redistest"
)

// TestProxyCommandSharedStore runs two proxy commands on one Redis: what
// the first fetches, the second serves as a HIT, and /_socklab/stats shows
// the shared tier.
func TestProxyCommandSharedStore(t *testing.T) {
	srv := redistest.Start(t)
	var originHits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "from origin")
	}))
	defer origin.Close()
	type instance struct {
		http, admin string
		cmd         *runningCmd
	}
	var proxies []instance
	for range 2 {
		cmd := startCmd(t, []string{"proxy http", "admin"}, "proxy", "--http", "127.0.0.1:0", "--upstream", origin.URL, "--admin", "127.0.0.1:0", "--udp", "",
			"--cache-store", srv.URL(0), "--l1-size", "8MiB", "--cache-store-timeout", "200ms")
		proxies = append(proxies, instance{http: cmd.addrs["proxy http"], admin: cmd.addrs["admin"], cmd: cmd})
	}
	client := &http.Client{Timeout: cmdTimeout}
	get := func(url string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "site.example" // as behind a load balancer: one Host for all
		r, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r, string(b)
	}
	tier := func(admin string) map[string]any {
		t.Helper()
		_, body := get("http://" + admin + "/_socklab/stats")
		var st struct {
			SharedTier map[string]any `json:"shared_tier"`
		}
		if err := json.Unmarshal([]byte(body), &st); err != nil || st.SharedTier == nil {
			t.Fatalf("stats without shared_tier: %q (%v)", body, err)
		}
		return st.SharedTier
	}
	if r, body := get("http://" + proxies[0].http + "/page"); r.Header.Get("X-Cache") != "MISS" || body != "from origin" {
		t.Fatalf("first proxy: %q %q", r.Header.Get("X-Cache"), body)
	}
	// The proxy stores a response after sending it.
	deadline := time.Now().Add(5 * time.Second)
	for tier(proxies[0].admin)["l2_stores"] != 1.0 {
		if time.Now().After(deadline) {
			t.Fatalf("never stored in Redis: %v", tier(proxies[0].admin))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r, body := get("http://" + proxies[1].http + "/page"); r.Header.Get("X-Cache") != "HIT" || body != "from origin" {
		t.Fatalf("second proxy: %q %q", r.Header.Get("X-Cache"), body)
	}
	if n := originHits.Load(); n != 1 {
		t.Fatalf("origin saw %d requests, want 1", n)
	}
	if st := tier(proxies[1].admin); st["l2_hits"] != 1.0 || st["subscribed"] != true {
		t.Fatalf("second proxy's tier stats: %v", st)
	}
	for i, in := range proxies {
		if code := in.cmd.stop(t); code != ExitOK {
			t.Fatalf("proxy %d exit %d: %s", i, code, in.cmd.stderr.String())
		}
	}
}
