package udpecho

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/qoswire"
)

// serveOn runs a reflector on pc until the test ends; events arrive on the
// returned channel.
func serveOn(t *testing.T, pc net.PacketConn, cfg Config) (*Server, <-chan Event) {
	t.Helper()
	events := make(chan Event, 64)
	cfg.Trace = func(e Event) { events <- e }
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, events
}

// TestHostileReflectorPingPong (issue 13 #10): a probe sent from one
// reflector's socket to another comes back stamped as a reply, and the
// first drops it instead of reflecting it again: one exchange, not an
// endless bounce. Plain data from a reflector's port is not echoed either.
func TestHostileReflectorPingPong(t *testing.T) {
	t.Run("reply flag", func(t *testing.T) {
		pa, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pb, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a, evA := serveOn(t, pa, Config{})
		b, evB := serveOn(t, pb, Config{})
		// The spoofed priming probe: as if a client at A's address had
		// sent it to B.
		p := make([]byte, 100)
		(&qoswire.Header{Session: 7}).Marshal(p)
		if _, err := pa.WriteTo(p, pb.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if e := wait(t, evB); e.Verdict != Reflected {
			t.Fatalf("B: %v, want reflected", e.Verdict)
		}
		if e := wait(t, evA); e.Verdict != DroppedReply {
			t.Fatalf("A answered B's reply (%v): the two would bounce it for ever", e.Verdict)
		}
		// A sent nothing, so B has nothing more to handle.
		select {
		case e := <-evB:
			t.Fatalf("B got another datagram: %v", e.Verdict)
		case <-time.After(200 * time.Millisecond):
		}
		if sa, sb := a.Stats(), b.Stats(); sa.DroppedReply != 1 || sa.BytesOut != 0 || sb.Reflected != 1 {
			t.Fatalf("A %+v, B %+v", sa, sb)
		}
	})
	t.Run("same port on another address", func(t *testing.T) {
		pa, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pa.LocalAddr().(*net.UDPAddr).Port
		pb, err := net.ListenPacket("udp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), uint16(port)).String())
		if err != nil {
			t.Skipf("127.0.0.2:%d: %v", port, err)
		}
		serveOn(t, pa, Config{})
		_, evB := serveOn(t, pb, Config{})
		pa.WriteTo([]byte("plain data"), pb.LocalAddr())
		if e := wait(t, evB); e.Verdict != DroppedPort {
			t.Fatalf("B echoed plain data from a reflector's port: %v", e.Verdict)
		}
	})
	t.Run("configured loop port", func(t *testing.T) {
		peer, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		_, to, events := start(t, Config{LoopPorts: []uint16{uint16(peer.LocalAddr().(*net.UDPAddr).Port)}})
		peer.WriteTo([]byte("plain data"), net.UDPAddrFromAddrPort(to))
		if e := wait(t, events); e.Verdict != DroppedPort {
			t.Fatalf("echoed a loop port: %v", e.Verdict)
		}
	})
}
