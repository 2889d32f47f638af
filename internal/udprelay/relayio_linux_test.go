//go:build linux

package udprelay

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A relayed datagram costs no allocation either way: buffers, message
// headers and send callbacks are made once, so 100k datagrams/s do not
// feed the garbage collector.
func TestNoAllocsPerDatagram(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	echo := echoServer(t)
	_, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String()})
	conn := dial(t, addr)
	p := make([]byte, 64)
	buf := make([]byte, 2048)
	roundTrip := func() {
		if _, err := conn.Write(p); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for range 100 { // open the session, fill the pools
		roundTrip()
	}
	// Both ends of the test (echo server, client) allocate nothing per
	// datagram either, so what is counted is the relay's.
	if a := testing.AllocsPerRun(2000, roundTrip); a > 0 {
		t.Fatalf("%.2f allocations per round trip through the relay, want 0", a)
	}
}

// Runs of equal-sized datagrams leave with segmentation offload; each must
// still arrive whole, alone and in order, including the shorter one that
// ends a run.
func TestSegmentedRunsIntact(t *testing.T) {
	echo := echoServer(t)
	_, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String()})
	conn := dial(t, addr)
	_ = conn.SetReadBuffer(4 << 20)
	const count = 2000
	size := func(seq int) int {
		switch {
		case seq%50 == 49:
			return 8 + seq%13 // a shorter one now and then
		case seq%400 < 200:
			return 64
		default:
			return 1200
		}
	}
	payload := func(seq int) []byte {
		p := make([]byte, size(seq))
		binary.BigEndian.PutUint64(p, uint64(seq))
		for i := 8; i < len(p); i++ {
			p[i] = byte(seq*3 + i)
		}
		return p
	}
	for i := range count {
		if _, err := conn.Write(payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2048)
	for want := range count {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %d replies: %v", want, err)
		}
		if !bytes.Equal(buf[:n], payload(want)) {
			t.Fatalf("reply %d: got %d bytes (seq %d), want datagram %d whole (%d bytes)",
				want, n, binary.BigEndian.Uint64(buf), want, size(want))
		}
	}
}

func TestGSORun(t *testing.T) {
	hdrs := func(sizes ...int) []unix.Mmsghdr {
		m := newMmsgs(len(sizes), false)
		for i, n := range sizes {
			m.setSend(i, make([]byte, n), nil)
		}
		return m.hdrs
	}
	var g gsoState
	g.init()
	for _, tc := range []struct {
		name         string
		sizes        []int
		n, size, tot int
	}{
		{"one", []int{64}, 0, 0, 0},
		{"equal", []int{64, 64, 64}, 3, 64, 192},
		{"shorter ends", []int{64, 64, 10, 64}, 3, 64, 138},
		{"longer ends", []int{64, 100, 64}, 1, 64, 64},
		{"empty first", []int{0, 0}, 0, 0, 0},
		{"empty ends", []int{64, 0}, 1, 64, 64},
		{"byte bound", []int{30000, 30000, 30000}, 2, 30000, 60000},
		{"segment bound", make64(70), 64, 1, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, size, tot := g.run(hdrs(tc.sizes...))
			if n != tc.n || (n > 0 && (size != tc.size || tot != tc.tot)) {
				t.Fatalf("run = %d, %d, %d; want %d, %d, %d", n, size, tot, tc.n, tc.size, tc.tot)
			}
		})
	}
	// Refused for a size (larger than a route's MTU): that size and larger
	// go one by one; a kernel without offload: everything does.
	g.refused(unix.EINVAL, 1500)
	if n, _, _ := g.run(hdrs(1500, 1500)); n != 0 {
		t.Fatalf("segment size refused, still grouped %d", n)
	}
	if n, _, _ := g.run(hdrs(1400, 1400)); n != 2 {
		t.Fatalf("smaller segments: grouped %d, want 2", n)
	}
	g.refused(unix.EIO, 64)
	if n, _, _ := g.run(hdrs(8, 8)); n != 0 {
		t.Fatalf("offload off, still grouped %d", n)
	}
}

func make64(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

func TestSockaddrRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		family int
		in     string
		want   string
	}{
		{unix.AF_INET, "127.0.0.1:9", "127.0.0.1:9"},
		{unix.AF_INET, "10.1.2.3:65535", "10.1.2.3:65535"},
		{unix.AF_INET6, "[::1]:4000", "[::1]:4000"},
		{unix.AF_INET6, "127.0.0.1:53", "[::ffff:127.0.0.1]:53"}, // v4 client of a dual-stack socket
		{unix.AF_INET6, "[fe80::1%1]:7", "[fe80::1%lo]:7"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			sa := makeSockaddr(tc.family, netip.MustParseAddrPort(tc.in))
			got, ok := sockaddrToAddrPort(&sa.raw, sa.len)
			if !ok || got.String() != tc.want {
				t.Fatalf("got %v %v, want %s", got, ok, tc.want)
			}
		})
	}
	var junk unix.RawSockaddrInet6
	junk.Family = unix.AF_UNIX
	if _, ok := sockaddrToAddrPort(&junk, unix.SizeofSockaddrInet6); ok {
		t.Fatal("decoded an AF_UNIX address")
	}
}

// Asking for more socket buffer than net.core.rmem_max allows is said
// once, with what was granted.
func TestSocketBufferClampedWarns(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n >= 1<<30 {
			t.Skip("net.core.rmem_max allows 1 GiB: nothing to clamp")
		}
	}
	var logged lockedBuffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	echo := echoServer(t)
	_, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String(), SocketBuffer: 1 << 30, Logger: log})
	conn := dial(t, addr)
	conn.Write([]byte("x")) // a session socket too
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	out := logged.String()
	if n := strings.Count(out, "receive buffer is smaller than asked"); n != 1 {
		t.Fatalf("warned %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "asked=1073741824") {
		t.Fatalf("warning does not say what was asked:\n%s", out)
	}
}

// lockedBuffer is a bytes.Buffer the relay's goroutines may log into while
// the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
