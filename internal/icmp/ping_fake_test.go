package icmp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/icmp/probe"
)

// fakeConn is a datagram-style ICMP socket whose "network" answers each echo
// request at once by the script in reply: the kernel's id rewrite included.
type fakeConn struct {
	v6     bool
	reply  func(req probe.Message, dst netip.Addr) []fakePacket
	in     chan Packet
	closed chan struct{}
	once   sync.Once
}

type fakePacket struct {
	from netip.Addr
	msg  []byte
}

func newFakeConn(v6 bool, reply func(probe.Message, netip.Addr) []fakePacket) *fakeConn {
	return &fakeConn{v6: v6, reply: reply, in: make(chan Packet, 64), closed: make(chan struct{})}
}

func (c *fakeConn) Raw() bool { return false }

func (c *fakeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *fakeConn) ReadPacket(buf []byte) (Packet, error) {
	select {
	case p := <-c.in:
		n := copy(buf, p.Data)
		p.Data = buf[:n]
		p.Read = time.Now()
		return p, nil
	case <-c.closed:
		return Packet{}, fmt.Errorf("read fake: %w", net.ErrClosed)
	}
}

func (c *fakeConn) WriteTo(msg []byte, dst netip.Addr, ttl int) error {
	req, err := probe.ParseMessage(c.v6, msg)
	if err != nil {
		return err
	}
	for _, p := range c.reply(req, dst) {
		c.in <- Packet{Data: p.msg, From: p.from, TTL: 64}
	}
	return nil
}

// echoReply answers req as the host would, with the id a datagram socket's
// kernel would have put there instead of ours.
func echoReply(v6 bool, req probe.Message) []byte {
	b := probe.AppendEcho(nil, v6, 0x9999, req.Seq, req.Payload)
	if v6 {
		b[0] = probe.V6EchoReply
	} else {
		b[0] = probe.V4EchoReply
	}
	return b
}

// timeExceeded is a router's answer quoting req.
func timeExceeded(src, dst netip.Addr, req []byte) []byte {
	ip := []byte{0x45, 0, 0, byte(20 + len(req)), 0, 0, 0, 0, 1, probe.ProtoICMP, 0, 0}
	ip = append(append(ip, src.AsSlice()...), dst.AsSlice()...)
	return append([]byte{probe.V4TimeExceeded, 0, 0, 0, 0, 0, 0, 0}, append(ip, req...)...)
}

func TestPingMatchesRepliesDuplicatesAndErrors(t *testing.T) {
	host := netip.MustParseAddr("192.0.2.7")
	router := netip.MustParseAddr("192.0.2.1")
	me := netip.MustParseAddr("192.0.2.100")
	conn := newFakeConn(false, func(req probe.Message, dst netip.Addr) []fakePacket {
		reqBytes := probe.AppendEcho(nil, false, 0x9999, req.Seq, req.Payload)
		switch req.Seq {
		case 2: // answered twice
			r := echoReply(false, req)
			return []fakePacket{{dst, r}, {dst, r}}
		case 3: // dies on the way
			return []fakePacket{{router, timeExceeded(me, dst, reqBytes)}}
		case 4: // someone else's reply: same seq, other nonce
			other := append([]byte(nil), req.Payload...)
			other[0] ^= 0xff
			return []fakePacket{{dst, echoReply(false, probe.Message{Seq: req.Seq, Payload: other})}}
		}
		return []fakePacket{{dst, echoReply(false, req)}}
	})
	var events []PingEvent
	res, err := Ping(context.Background(), PingConfig{
		Hosts: []netip.Addr{host}, Count: 4, Interval: time.Millisecond, Timeout: 50 * time.Millisecond,
		Listen:  func(ListenConfig) (Conn, error) { return conn, nil },
		OnEvent: func(e PingEvent) { events = append(events, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h := res.Hosts[0]
	if h.Transmitted != 4 || h.Received != 2 || h.Duplicates != 1 || h.Errors != 1 || h.LossPercent() != 50 {
		t.Errorf("result %+v", h)
	}
	type seen struct {
		kind PingEventKind
		seq  int
		dup  bool
		from netip.Addr
		msg  string
	}
	var got []seen
	for _, e := range events {
		got = append(got, seen{e.Kind, e.Seq, e.Dup, e.From, e.Message})
	}
	want := []seen{
		{PingReply, 1, false, host, ""},
		{PingReply, 2, false, host, ""},
		{PingReply, 2, true, host, ""},
		{PingError, 3, false, router, "Time to live exceeded"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events\n got %v\nwant %v", got, want)
	}
	for _, e := range events {
		if e.Kind == PingReply && (e.Bytes != 64 || e.RTT <= 0) {
			t.Errorf("reply %+v", e)
		}
	}
}

func TestPingCancelReturnsSummary(t *testing.T) {
	conn := newFakeConn(false, func(probe.Message, netip.Addr) []fakePacket { return nil }) // nothing answers
	ctx, cancel := context.WithCancel(context.Background())
	sent := 0
	var p *Pinger
	p, err := NewPinger(PingConfig{
		Hosts: []netip.Addr{netip.MustParseAddr("192.0.2.9")}, Interval: time.Millisecond,
		Listen: func(ListenConfig) (Conn, error) {
			return &countingConn{Conn: conn, onWrite: func() {
				if sent++; sent == 3 {
					cancel()
				}
			}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h := res.Hosts[0]; h.Transmitted < 3 || h.Received != 0 || h.LossPercent() != 100 {
		t.Errorf("result %+v", h)
	}
}

type countingConn struct {
	Conn
	onWrite func()
}

func (c *countingConn) WriteTo(msg []byte, dst netip.Addr, ttl int) error {
	c.onWrite()
	return c.Conn.WriteTo(msg, dst, ttl)
}

func TestPingConfigErrors(t *testing.T) {
	h := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	for name, cfg := range map[string]PingConfig{
		"no host":  {},
		"size":     {Hosts: h, Size: 70000},
		"ttl":      {Hosts: h, TTL: 300},
		"interval": {Hosts: h, Interval: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewPinger(cfg); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestNoPermissionNamesBothRemedies(t *testing.T) {
	for _, want := range []string{"root", "CAP_NET_RAW", "net.ipv4.ping_group_range"} {
		if !strings.Contains(ErrNoPermission.Error(), want) {
			t.Errorf("ErrNoPermission does not mention %q", want)
		}
	}
}

// refusingConn is a socket whose kernel refuses every request (EMSGSIZE, as
// with -M do and a request larger than the path MTU).
type refusingConn struct{ *fakeConn }

func (c refusingConn) WriteTo([]byte, netip.Addr, int) error {
	return fmt.Errorf("sendto: %w", syscall.EMSGSIZE)
}

// A request the kernel would not send is reported and counted as iputils
// does: "local error: message too long, mtu=1500", "+N errors".
func TestPingLocalErrorsAreReportedAndCounted(t *testing.T) {
	host := netip.MustParseAddr("192.0.2.7")
	conn := refusingConn{newFakeConn(false, nil)}
	var events []PingEvent
	res, err := Ping(context.Background(), PingConfig{
		Hosts: []netip.Addr{host}, Count: 2, Interval: time.Millisecond, Timeout: time.Hour,
		Listen:  func(ListenConfig) (Conn, error) { return conn, nil },
		PathMTU: func(netip.Addr) int { return 1500 },
		OnEvent: func(e PingEvent) { events = append(events, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h := res.Hosts[0]
	if h.Transmitted != 2 || h.Received != 0 || h.Errors != 2 || h.LossPercent() != 100 {
		t.Fatalf("result %+v, want 2 transmitted, +2 errors", h)
	}
	if len(events) != 2 || events[0].Kind != PingLocalError || events[0].Message != "local error: message too long, mtu=1500" || events[1].Seq != 2 {
		t.Fatalf("events %+v", events)
	}
}
