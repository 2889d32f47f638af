package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/proxy"
)

// TestProxyFlagHints: the proxy engine refuses in its own words and the
// command adds the flag to change, through the proxy's ErrorHandler.
func TestProxyFlagHints(t *testing.T) {
	start := func(cfg proxy.Config) string {
		// As the proxy stack wires ProxyConfig.ErrorHint.
		var p *proxy.Proxy
		cfg.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) { p.WriteError(w, withFlagHint(err)) }
		p, err := proxy.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(p)
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	ask := func(addr, req string) (int, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name string
		cfg  proxy.Config
		req  string
		want string
	}{
		{"client", proxy.Config{Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}},
			"GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n", "(see --allow)"},
		{"connect port", proxy.Config{ConnectPorts: []int{443}},
			"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n", "is not allowed (see --connect-ports)"},
		{"destination", proxy.Config{BlockLocalDest: true},
			"GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n", "(see --allow-dest)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := ask(start(tt.cfg), tt.req)
			if status != http.StatusForbidden || !strings.Contains(body, tt.want) {
				t.Errorf("%d %q; want 403 with %q", status, body, tt.want)
			}
		})
	}
}
