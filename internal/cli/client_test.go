package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/socklab/socklab/internal/proxy"
	"github.com/socklab/socklab/internal/report"
	"github.com/socklab/socklab/internal/udpecho"
)

// clientLab is serve + proxy in-process: an origin whose pages carry a
// freshness lifetime (as serve's embedded site does), the real caching proxy
// engine in front of it, and the real UDP reflector.
type clientLab struct {
	origin, proxy *httptest.Server
	udp           string
	originHits    atomic.Int64
}

func newClientLab(t *testing.T) *clientLab {
	t.Helper()
	lab := &clientLab{}
	lab.origin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lab.originHits.Add(1)
		w.Header().Set("Cache-Control", "public, max-age=60")
		fmt.Fprint(w, "<h1>socklab</h1>")
	}))
	t.Cleanup(lab.origin.Close)
	up, _ := url.Parse(lab.origin.URL)
	store, err := proxy.NewMemoryStore(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(proxy.Config{Upstream: up, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	lab.proxy = httptest.NewServer(p)
	t.Cleanup(lab.proxy.Close)

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echo, err := udpecho.New(udpecho.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = echo.Serve(ctx, pc) }()
	t.Cleanup(func() { cancel(); pc.Close(); <-done })
	lab.udp = pc.LocalAddr().String()
	return lab
}

func (lab *clientLab) args(extra ...string) []string {
	return append([]string{"client", "--proxy", lab.proxy.URL, "--server", lab.origin.URL, "--udp", lab.udp}, extra...)
}

func TestClientMenuPiped(t *testing.T) {
	tests := []struct {
		name  string
		input string
		wants []string
	}{
		{"option 2 then exit", "2\n0\n", []string{"choice> ", "HTTP/1.1 200 OK", "cache      MISS"}},
		{"repeat shows MISS then HIT", "2\n2\n0\n", []string{"cache      MISS", "cache      HIT", "cache saved"}},
		{"connectivity", "1\n", []string{"tcp  proxy", "tcp  server", "ok, round trip", "QoS reflector"}},
		{"multi-client default 5", "4\n\n0\n", []string{"clients [5]: ", "5 clients", "requests    50 in", "per client:"}},
		{"invalid input re-prompts, EOF exits", "7\nfoo\n", []string{`invalid choice "7"`, `invalid choice "foo"`}},
		{"qos appends csv", "3\n5\n1ms\n\n0\n", []string{"probes [100]: ", "qos statistics", "appended to"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lab := newClientLab(t) // a fresh cache for each dialogue
			csv := filepath.Join(t.TempDir(), "qos_result.csv")
			code, out, stderr := run(t, tt.input, lab.args("--csv", csv)...)
			if code != ExitOK {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
			}
			for _, w := range tt.wants {
				if !strings.Contains(out, w) {
					t.Fatalf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(tt.input, "3\n") {
				b, err := os.ReadFile(csv)
				if err != nil || !strings.HasPrefix(string(b), "time,target,protocol,sent,received") || strings.Count(string(b), "\n") != 2 {
					t.Fatalf("csv: %v\n%s", err, b)
				}
			}
		})
	}
}

func TestClientConnectivityFailure(t *testing.T) {
	dead := clientDeadAddr(t)
	code, out, _ := run(t, "1\n0\n", "client", "--proxy", "http://"+dead, "--server", "http://"+dead, "--udp", dead, "--timeout", "200ms")
	if code != ExitOK || !strings.Contains(out, "FAILED (refused)") || !strings.Contains(out, "error: 3 of 3 checks failed") {
		t.Fatalf("exit %d output:\n%s", code, out)
	}
}

func TestClientBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"client", "--proxy", "ftp://x:1"},
		{"client", "--server", "127.0.0.1:8000"},
		{"client", "--udp", "nohostport"},
	} {
		if code, _, stderr := run(t, "", args...); code != ExitUsage {
			t.Fatalf("%v: exit %d, stderr %s", args, code, stderr)
		}
	}
}

func clientDeadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestGetThroughProxy(t *testing.T) {
	lab := newClientLab(t)
	t.Run("text", func(t *testing.T) {
		code, out, stderr := run(t, "", "get", "-n", "2", "--proxy", lab.proxy.URL, lab.origin.URL+"/text")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, w := range []string{"#1 GET", "#2 GET", "HTTP/1.1 200 OK", "X-Cache: MISS", "X-Cache: HIT", "timing     dns", "first byte", "size       16 bytes", "cache saved"} {
			if !strings.Contains(out, w) {
				t.Fatalf("output lacks %q:\n%s", w, out)
			}
		}
		if strings.Index(out, "cache      MISS") > strings.Index(out, "cache      HIT") {
			t.Fatalf("HIT before MISS:\n%s", out)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, out, _ := run(t, "", "get", "--json", "-n", "2", "--proxy", lab.proxy.URL, lab.origin.URL+"/json")
		var doc struct {
			Requests []struct {
				Status int                `json:"status"`
				Cache  string             `json:"cache"`
				Size   int64              `json:"size_bytes"`
				Timing map[string]float64 `json:"timing_ms"`
			} `json:"requests"`
			CacheSaving *struct {
				SavedMs float64 `json:"saved_ms"`
			} `json:"cache_saving"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || code != ExitOK {
			t.Fatalf("exit %d, %v:\n%s", code, err, out)
		}
		if len(doc.Requests) != 2 || doc.Requests[0].Cache != "MISS" || doc.Requests[1].Cache != "HIT" || doc.CacheSaving == nil {
			t.Fatalf("%+v", doc)
		}
		if doc.Requests[0].Timing["total"] <= 0 || doc.Requests[0].Timing["connect"] <= 0 || doc.Requests[0].Size != 16 {
			t.Fatalf("timing %+v", doc.Requests[0])
		}
	})
	t.Run("output file and headers", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "body.html")
		code, out, _ := run(t, "", "get", "--headers", "-o", f, "-H", "Accept: text/html", lab.origin.URL+"/")
		b, _ := os.ReadFile(f)
		if code != ExitOK || string(b) != "<h1>socklab</h1>" || !strings.Contains(out, "Date: ") {
			t.Fatalf("exit %d body %q output:\n%s", code, b, out)
		}
	})
}

func TestGetErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"refused", []string{"get", "http://" + clientDeadAddr(t) + "/"}, ExitFailure, "connection refused"},
		{"no scheme", []string{"get", "127.0.0.1:8000"}, ExitUsage, "scheme"},
		{"bad header", []string{"get", "-H", "nocolon", "http://127.0.0.1:1/"}, ExitUsage, "Name: value"},
		{"bad count", []string{"get", "-n", "0", "http://127.0.0.1:1/"}, ExitUsage, "-n"},
		{"no url", []string{"get"}, ExitUsage, "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, "", tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d (want %d), stderr %q lacks %q", code, tt.code, stderr, tt.want)
			}
		})
	}
}

func TestLoadCommand(t *testing.T) {
	lab := newClientLab(t)
	t.Run("json through proxy", func(t *testing.T) {
		code, out, stderr := run(t, "", "load", "--json", "--per-client", "-c", "3", "-n", "30", "--proxy", lab.proxy.URL, lab.origin.URL+"/l")
		var r report.LoadDoc
		if err := json.Unmarshal([]byte(out), &r); err != nil || code != ExitOK {
			t.Fatalf("exit %d %v\n%s\n%s", code, err, out, stderr)
		}
		if r.Requests != 30 || r.Successes != 30 || len(r.PerClient) != 3 || r.Cache == nil || r.Cache.Hits != 29 || r.Latency.N != 30 {
			t.Fatalf("%+v cache %+v", r, r.Cache)
		}
	})
	t.Run("text udp", func(t *testing.T) {
		code, out, _ := run(t, "", "load", "-c", "2", "-n", "20", "--size", "100", "udp://"+lab.udp)
		if code != ExitOK || !strings.Contains(out, "20 sent, 20 received, 0 lost") || !strings.Contains(out, "rtt ") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("all refused exits 1", func(t *testing.T) {
		code, out, _ := run(t, "", "load", "-n", "5", "http://"+clientDeadAddr(t)+"/")
		if code != ExitFailure || !strings.Contains(out, "refused: 5") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"load", "-c", "0", "http://127.0.0.1:1/"},
			{"load", "--size", "lots", "udp://127.0.0.1:1"},
			{"load", "--rate", "-1", "http://127.0.0.1:1/"},
			{"load", "ftp://127.0.0.1/"},
			{"load", "--procs", "-1", "http://127.0.0.1:1/"},
		} {
			if code, _, stderr := run(t, "", args...); code != ExitUsage {
				t.Fatalf("%v: exit %d %s", args, code, stderr)
			}
		}
	})
}

// The menu does what it says: the help lists exactly the labels the menu
// prints, in its order, and options 5 and 6 run ping and traceroute to the
// default host (the server's).
func TestClientMenuMatchesHelp(t *testing.T) {
	_, out, _ := run(t, "0\n", "client", "--proxy", "http://127.0.0.1:1", "--server", "http://127.0.0.1:2", "--udp", "127.0.0.1:3")
	var shown []string
	for _, l := range strings.Split(out, "\n") {
		if k, label, ok := strings.Cut(strings.TrimSpace(l), ") "); ok && len(k) == 1 && k[0] >= '0' && k[0] <= '9' {
			shown = append(shown, k+") "+label)
		}
	}
	_, help, _ := run(t, "", "client", "--help")
	var listed []string
	for _, l := range strings.Split(help, "\n") {
		if k, rest, ok := strings.Cut(strings.TrimSpace(l), ") "); ok && len(k) == 1 && k[0] >= '0' && k[0] <= '9' {
			label, _, _ := strings.Cut(rest, "  ")
			listed = append(listed, k+") "+strings.TrimSpace(label))
		}
	}
	if len(shown) != 7 || strings.Join(shown, "|") != strings.Join(listed, "|") {
		t.Fatalf("menu shows %q\nhelp lists %q", shown, listed)
	}
}

func TestClientMenuPingAndTraceroute(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: traceroute reads ICMP errors on a raw socket")
	}
	for _, tt := range []struct {
		input string
		wants []string
	}{
		{"5\n\n0\n", []string{"host [127.0.0.1]: ", "PING 127.0.0.1 (127.0.0.1)", "icmp_seq=4", "4 packets transmitted, 4 received, 0% packet loss"}},
		{"6\n\n0\n", []string{"host [127.0.0.1]: ", "traceroute to 127.0.0.1 (127.0.0.1), 30 hops max", " 1  127.0.0.1  "}},
	} {
		code, out, stderr := run(t, tt.input, "client", "--proxy", "http://127.0.0.1:1", "--server", "http://127.0.0.1:2", "--udp", "127.0.0.1:3")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, w := range tt.wants {
			if !strings.Contains(out, w) {
				t.Fatalf("%q: output lacks %q:\n%s", tt.input, w, out)
			}
		}
	}
}
