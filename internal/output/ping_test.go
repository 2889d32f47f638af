package output

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/icmp"
	"github.com/socklab/socklab/internal/report"
)

// A local error goes to stderr as iputils prints it, even with -q, and into
// the JSON replies marked local.
func TestPingLocalErrorRendering(t *testing.T) {
	var out, errw bytes.Buffer
	r := &PingEvents{Out: &out, Err: &errw, Quiet: true}
	ev := icmp.PingEvent{Kind: icmp.PingLocalError, Host: netip.MustParseAddr("127.0.0.1"), From: netip.MustParseAddr("127.0.0.1"),
		Seq: 1, TTL: -1, Message: "local error: message too long, mtu=1500"}
	r.Event(ev)
	if errw.String() != "ping: local error: message too long, mtu=1500\n" || out.Len() != 0 {
		t.Fatalf("stderr %q stdout %q", errw.String(), out.String())
	}
	res := icmp.PingResult{Hosts: []icmp.HostResult{{Host: ev.Host, Transmitted: 1, Errors: 1}}}
	b, err := json.Marshal(report.PingJSON([]report.PingTarget{{Name: "127.0.0.1"}}, res, r.Replies()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"errors":1`) || !strings.Contains(string(b), `"error":"local error: message too long, mtu=1500","local":true`) {
		t.Fatalf("json %s", b)
	}
}
