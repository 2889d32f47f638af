//go:build linux && (amd64 || arm64)

package udpecho

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/qoswire"
)

// gsoTrain sends probes seq0..seq0+n-1 of size bytes in one segmented send
// (UDP_SEGMENT), each carrying a payload pattern of its own after the
// header, and a last segment of tail bytes of plain data when tail > 0.
func gsoTrain(t *testing.T, c *net.UDPConn, session, seq0 uint64, n, size, tail int) {
	t.Helper()
	buf := make([]byte, 0, n*size+tail)
	for i := range n {
		p := probeBytes(session, seq0+uint64(i), size)
		buf = append(buf, p...)
	}
	buf = append(buf, bytes.Repeat([]byte{'t'}, tail)...)
	ctrl := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&ctrl[unix.CmsgLen(0)])) = uint16(size)
	if _, _, err := c.WriteMsgUDP(buf, ctrl, nil); err != nil {
		t.Skipf("this kernel will not segment UDP (UDP_SEGMENT): %v", err)
	}
}

func probeBytes(session, seq uint64, size int) []byte {
	p := make([]byte, size)
	hd := qoswire.Header{Session: session, Seq: seq}
	if err := hd.Marshal(p); err != nil {
		panic(err)
	}
	for j := qoswire.HeaderLen; j < size; j++ {
		p[j] = byte(seq) + byte(j)
	}
	return p
}

// With GRO the reflector reads each segmented train in one buffer and
// answers every datagram of it as its own reply, the run of answers leaving
// as one segmented send: count, sequence numbers, sizes and payloads all
// intact, a shorter last segment included. Without GRO (off, or refused by
// the kernel: the same path) likewise, one datagram per read; and when the
// kernel refuses to segment the answers (here: a reflector socket without
// UDP checksums, EINVAL) they go one datagram each, none lost.
func TestGROTrainsAnsweredDatagramByDatagram(t *testing.T) {
	const trains, perTrain, size, tail = 20, 10, 300, 77
	for _, tc := range []struct {
		name          string
		gro, noCheck  bool
		trains, sends bool // coalesced reads and segmented answers expected
	}{
		{"gro", true, false, true, true},
		{"no gro", false, false, false, false},
		{"gso refused", true, true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuf
			s, addr := startSock(t, Config{MaxPPS: -1, MaxSourcePPS: -1, GRO: tc.gro, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, tc.noCheck)
			c := dial(t, addr)
			_ = c.SetReadBuffer(4 << 20)
			seen := make(map[uint64]bool)
			tails := 0
			buf := make([]byte, 70000)
			// One train at a time, its answers read before the next, so
			// no socket buffer on the way can overflow.
			for k := range trains {
				gsoTrain(t, c, 7, uint64(k*perTrain), perTrain, size, tail)
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				for len(seen)+tails < (k+1)*(perTrain+1) {
					n, err := c.Read(buf)
					if err != nil {
						t.Fatalf("after %d probes and %d tails: %v (stats %+v)", len(seen), tails, err, s.Stats())
					}
					b := buf[:n]
					if n == tail {
						if !bytes.Equal(b, bytes.Repeat([]byte{'t'}, tail)) {
							t.Fatalf("tail echoed as %q", b)
						}
						tails++
						continue
					}
					h, err := qoswire.Parse(b)
					if err != nil || n != size || !h.IsReply() || h.Session != 7 || seen[h.Seq] {
						t.Fatalf("reply of %d bytes: %+v, %v (dup %v)", n, h, err, seen[h.Seq])
					}
					want := probeBytes(7, h.Seq, size)
					if !bytes.Equal(b[qoswire.HeaderLen:], want[qoswire.HeaderLen:]) {
						t.Fatalf("probe %d: payload changed", h.Seq)
					}
					seen[h.Seq] = true
				}
			}
			for i := range uint64(trains * perTrain) {
				if !seen[i] {
					t.Fatalf("probe %d never answered", i)
				}
			}
			st := s.Stats()
			if st.Reflected != trains*perTrain || st.Echoed != trains {
				t.Fatalf("stats %+v", st)
			}
			if (st.GROTrains > 0) != tc.trains {
				t.Fatalf("%d coalesced reads, want some: %v", st.GROTrains, tc.trains)
			}
			if tc.sends && st.GSOSends == 0 || tc.noCheck && st.GSOSends != 0 {
				t.Fatalf("%d segmented answer sends (want some: %v)", st.GSOSends, tc.sends)
			}
			if refused := strings.Contains(logs.String(), "refused segmented sends"); refused != tc.noCheck {
				t.Fatalf("refusal logged %v, want %v: %s", refused, tc.noCheck, logs.String())
			}
		})
	}
}

func TestParseGRO(t *testing.T) {
	seg := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&seg[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_GRO
	h.SetLen(unix.CmsgLen(4))
	*(*int32)(unsafe.Pointer(&seg[unix.CmsgLen(0)])) = 1400
	ts := make([]byte, unix.CmsgSpace(16))
	th := (*unix.Cmsghdr)(unsafe.Pointer(&ts[0]))
	th.Level, th.Type = unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS
	th.SetLen(unix.CmsgLen(16))
	if n, ok := parseGRO(append(ts, seg...)); !ok || n != 1400 {
		t.Fatalf("parseGRO = %d, %v", n, ok)
	}
	if _, ok := parseGRO(ts); ok {
		t.Fatal("a segment size in a timestamp alone")
	}
	if n := testing.AllocsPerRun(100, func() { parseGRO(seg) }); n != 0 {
		t.Fatalf("parseGRO allocates %v times", n)
	}
}

func FuzzParseGRO(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 20))
	f.Fuzz(func(t *testing.T, b []byte) { parseGRO(b) })
}

// startSock runs a reflector on a UDP socket of its own, made to send
// without checksums when noCheck (SO_NO_CHECK), which segmentation cannot do.
func startSock(t *testing.T, cfg Config, noCheck bool) (*Server, netip.AddrPort) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if noCheck {
		rc, _ := uc.SyscallConn()
		var serr error
		_ = rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1) })
		if serr != nil {
			t.Skipf("SO_NO_CHECK: %v", serr)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, uc) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, uc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// syncBuf is a buffer the serving goroutine's logger writes while the test reads.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuf) Write(p []byte) (int, error) { w.mu.Lock(); defer w.mu.Unlock(); return w.b.Write(p) }
func (w *syncBuf) String() string              { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }
