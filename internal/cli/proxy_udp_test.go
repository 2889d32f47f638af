package cli

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/socklab/socklab/internal/stack"
	"github.com/socklab/socklab/internal/udprelay"
)

func parseRelayFlags(t *testing.T, args ...string) *relayFlags {
	t.Helper()
	var f relayFlags
	fs := pflag.NewFlagSet("proxy", pflag.ContinueOnError)
	addRelayFlags(fs, &f)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &f
}

// startRelay starts the relay the flags describe, as "socklab proxy" does.
func startRelay(ctx context.Context, f *relayFlags, reg prometheus.Registerer) (*stack.Relay, error) {
	cfg, err := f.config()
	if err != nil {
		return nil, err
	}
	h, err := stack.StartRelay(ctx, cfg, discard, reg)
	return h, withStackFlag(err)
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestRelayFlagsUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--loss", "lots"}, "--loss"},
		{[]string{"--loss", "120%"}, "--loss"},
		{[]string{"--duplicate", "-1"}, "--duplicate"},
		{[]string{"--corrupt", "x"}, "--corrupt"},
		{[]string{"--rate", "fast"}, "--rate"},
		{[]string{"--queue", "big"}, "--queue"},
		{[]string{"--direction", "sideways"}, "--direction"},
		{[]string{"--jitter-dist", "pareto"}, "--jitter-dist"},
		{[]string{"--reorder", "5%"}, "reorder needs a delay"},
		{[]string{"--loss", "60%", "--loss-burst", "1"}, "unreachable"},
		{[]string{"--udp-max-sessions", "0"}, "--udp-max-sessions"},
		{[]string{"--delay", "-5ms"}, "negative"},
		{[]string{"--rate", "7"}, "below one byte"},
		{[]string{"--udp", "nohost:port:x", "--udp-upstream", "127.0.0.1:9"}, "--udp"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := parseRelayFlags(t, tt.args...)
			_, err := startRelay(context.Background(), f, nil)
			if err == nil || exitCode(err) != ExitUsage || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("start = %v, want a usage error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRelayStartAndStop(t *testing.T) {
	echo, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := echo.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			echo.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := parseRelayFlags(t, "--udp", "127.0.0.1:0", "--udp-upstream", echo.LocalAddr().String())
	h, err := startRelay(ctx, f, stack.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	addr := h.Addr
	if h.WrapConn != nil {
		t.Error("WrapConn set with no delay or rate")
	}
	// The socket is bound: a second relay on the same address fails,
	// naming it.
	if _, err := startRelay(ctx, parseRelayFlags(t, "--udp", addr), nil); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("second start = %v, want an error naming %s", err, addr)
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("reply %q, %v", buf[:n], err)
	}
	st, ok := h.Stats().(udprelay.Stats)
	if !ok || st.Up.Packets != 1 || st.Sessions != 1 {
		t.Fatalf("stats %#v", h.Stats())
	}
	cancel()
	if err := h.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
}

func TestRelayWrapConn(t *testing.T) {
	f := parseRelayFlags(t, "--udp", "", "--delay", "5ms", "--loss", "50%")
	h, err := startRelay(context.Background(), f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.WrapConn == nil {
		t.Fatal("WrapConn nil with --delay")
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w := h.WrapConn(a)
	defer w.Close()
	go b.Write([]byte("x"))
	start := time.Now()
	if _, err := w.Read(make([]byte, 1)); err != nil || time.Since(start) < 5*time.Millisecond {
		t.Fatalf("read after %v, %v; want at least the 5ms delay", time.Since(start), err)
	}
	if h.Stats() != nil || h.Wait() != nil {
		t.Fatal("relay off: Stats and Wait should be empty")
	}
}

// The impairment flags reach HTTP through "socklab proxy": a round trip
// takes at least twice --delay, and a body comes no faster than --rate.
// Bounds are one-sided or loose; the precise checks are on the policy.
func TestProxyImpairsHTTP(t *testing.T) {
	body := strings.Repeat("x", 200_000)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/big" {
			io.WriteString(w, body)
			return
		}
		io.WriteString(w, "small")
	}))
	defer origin.Close()
	tests := []struct {
		name  string
		flags []string
		path  string
		min   time.Duration
	}{
		{"delay", []string{"--delay", "25ms"}, "/small", 50 * time.Millisecond},
		// 200 kB at 4 Mbit/s down: at least 0.38 s after the first 1500 bytes.
		{"rate", []string{"--rate", "4M", "--direction", "down"}, "/big", 380 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"proxy", "--udp", "", "--access-log", "off", "--http", "127.0.0.1:0", "--upstream", origin.URL}, tt.flags...)
			addr := startCmd(t, []string{"proxy http"}, args...).addrs["proxy http"]
			client := &http.Client{Timeout: cmdTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
			start := time.Now()
			resp, err := client.Get("http://" + addr + tt.path)
			if err != nil {
				t.Fatalf("proxy did not answer: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if took := time.Since(start); took < tt.min {
				t.Fatalf("GET %s took %v, want at least %v", tt.path, took, tt.min)
			}
			if len(b) < 5 {
				t.Fatalf("body %q", b)
			}
		})
	}
}
