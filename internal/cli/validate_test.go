package cli

import (
	"errors"
	"net/netip"
	"net/url"
	"testing"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/icmp"
	"github.com/socklab/socklab/internal/impair"
	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/menu"
	"github.com/socklab/socklab/internal/proxy"
	"github.com/socklab/socklab/internal/qos"
	"github.com/socklab/socklab/internal/udpecho"
	"github.com/socklab/socklab/internal/udprelay"
	"github.com/socklab/socklab/internal/webserver"
)

// TestEngineValidate: every engine config refuses a bad value with an
// error wrapping errs.ErrInvalidConfig (which Main turns into exit 2) and
// accepts its zero value plus the required fields.
func TestEngineValidate(t *testing.T) {
	ftp, _ := url.Parse("ftp://127.0.0.1/")
	lo := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name    string
		bad, ok interface{ Validate() error }
	}{
		{"qos", qos.Config{Size: 1}, qos.Config{}},
		{"load", load.Config{Target: "http://127.0.0.1/", Clients: -1}, load.Config{Target: "http://127.0.0.1/"}},
		{"get", load.ProbeConfig{URL: "127.0.0.1"}, load.ProbeConfig{URL: "http://127.0.0.1/"}},
		{"ping", icmp.PingConfig{}, icmp.PingConfig{Hosts: []netip.Addr{lo}}},
		{"traceroute", icmp.TraceConfig{Target: lo, Port: 70000}, icmp.TraceConfig{Target: lo}},
		{"impair", &impair.Config{Reorder: 0.1}, &impair.Config{}},
		{"udprelay", udprelay.Config{Impair: impair.Config{Loss: 2}}, udprelay.Config{}},
		{"udpecho", udpecho.Config{MaxSources: -1}, udpecho.Config{}},
		{"webserver", webserver.Config{Grace: -1}, webserver.Config{}},
		{"proxy", proxy.Config{Upstream: ftp}, proxy.Config{}},
		{"menu", menu.Config{Clients: -1}, menu.Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.bad.Validate(); !errors.Is(err, errs.ErrInvalidConfig) {
				t.Errorf("Validate() = %v, want an error wrapping errs.ErrInvalidConfig", err)
			}
			if err := tt.ok.Validate(); err != nil {
				t.Errorf("Validate() of a good config = %v", err)
			}
		})
	}
}
