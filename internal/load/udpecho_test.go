package load_test

// UDP load against the real reflector (internal/udpecho): an external test
// package, so the engines stay independent and only meet here.

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/udpecho"
)

// What the reflector's rate cap drops is named as its own limit, with a
// warning, never counted as lost on the path.
func TestUDPReflectorCapNamed(t *testing.T) {
	srv, err := udpecho.New(udpecho.Config{MaxPPS: 20, MaxSourcePPS: -1,
		Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, c) }()
	defer func() { cancel(); <-done }()

	l, err := load.New(load.Config{Target: "udp://" + c.LocalAddr().String(), Clients: 1, Requests: 50, Rate: 1000, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Successes != 20 || r.Errors[load.KindReflectorCap] != 30 || r.Errors[load.KindLost] != 0 || r.Failures != 30 {
		t.Fatalf("successes %d, errors %v, failures %d: want 20 ok and 30 dropped by the cap", r.Successes, r.Errors, r.Failures)
	}
	// (A busy machine may add a sender-behind-schedule warning.)
	found := false
	for _, w := range r.Warnings {
		found = found || w.Kind == load.WarnReflectorCap
	}
	if !found {
		t.Fatalf("warnings %+v lack %s", r.Warnings, load.WarnReflectorCap)
	}
}
