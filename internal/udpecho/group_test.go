package udpecho

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/qoswire"
)

// Listen keeps "address already in use" for a taken address, and its
// socket lets Serve run a loop per worker on the same address: every flow
// is answered, and each probe session's counts live in one loop, so a
// report request finds all of its session's probes whichever socket the
// kernel picked for the flow.
func TestListenGroupServesEveryFlow(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	s, err := New(Config{MaxPPS: -1, MaxSourcePPS: -1, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Listen(context.Background(), taken.LocalAddr().String()); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen on a taken address: %v, want address in use", err)
	}

	uc, err := s.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !reusePort(uc) {
		t.Skip("no SO_REUSEPORT on this platform")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, uc) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if w := s.Stats().Workers; w != 0 {
			t.Errorf("%d loops still running after Serve returned", w)
		}
	}()

	const flows, probes = 16, 20
	buf := make([]byte, 2048)
	for f := range flows {
		c, err := net.DialUDP("udp", nil, uc.LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		session := uint64(100 + f)
		for i := range probes {
			p := make([]byte, 200)
			h := qoswire.Header{Session: session, Seq: uint64(i)}
			_ = h.Marshal(p)
			if _, err := c.Write(p); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("flow %d probe %d: %v", f, i, err)
			}
			if r, err := qoswire.Parse(buf[:n]); err != nil || r.Seq != uint64(i) || r.Session != session || !r.IsReply() {
				t.Fatalf("flow %d probe %d: reply %+v %v", f, i, r, err)
			}
		}
		req := make([]byte, qoswire.ReportLen)
		_ = qoswire.MarshalReportRequest(req, session)
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("flow %d report: %v", f, err)
		}
		if sess, rep, ok, err := qoswire.ParseReport(buf[:n]); err != nil || !ok || sess != session || rep.Received != probes {
			t.Fatalf("flow %d report: session %d %+v ok %v %v", f, sess, rep, ok, err)
		}
	}
	if st := s.Stats(); st.Workers != 4 || st.Reflected != flows*probes || st.Reported != flows {
		t.Fatalf("stats %+v", st)
	}
}
