//go:build linux && (amd64 || arm64)

package udpecho

import (
	"encoding/binary"
	"net"
	"syscall"
	"testing"
	"time"
)

func cmsg(level, typ int32, data ...int64) []byte {
	b := make([]byte, 16+8*len(data))
	binary.NativeEndian.PutUint64(b[0:8], uint64(len(b)))
	binary.NativeEndian.PutUint32(b[8:12], uint32(level))
	binary.NativeEndian.PutUint32(b[12:16], uint32(typ))
	for i, d := range data {
		binary.NativeEndian.PutUint64(b[16+8*i:], uint64(d))
	}
	return b
}

func TestParseRxTime(t *testing.T) {
	want := time.Unix(1_700_000_000, 123_456_789)
	ts := cmsg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, want.Unix(), int64(want.Nanosecond()))
	other := cmsg(syscall.IPPROTO_IP, 8, 0)
	tests := []struct {
		name string
		oob  []byte
		ok   bool
	}{
		{"alone", ts, true},
		{"after another", append(append([]byte{}, other...), ts...), true},
		{"empty", nil, false},
		{"other only", other, false},
		{"truncated", ts[:20], false},
		{"bad nsec", cmsg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, 1, 2e9), false},
		{"zero length header", make([]byte, 32), false},
	}
	for _, tt := range tests {
		got, ok := parseRxTime(tt.oob)
		if ok != tt.ok || (ok && !got.Equal(want)) {
			t.Errorf("%s: %v %v, want %v %v", tt.name, got, ok, want, tt.ok)
		}
	}
	if a := testing.AllocsPerRun(100, func() { parseRxTime(ts) }); a != 0 {
		t.Errorf("parseRxTime allocates %v", a)
	}
}

func FuzzParseRxTime(f *testing.F) {
	f.Add(cmsg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, 1, 2))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if tm, ok := parseRxTime(b); ok && tm.Unix() <= 0 {
			t.Fatalf("accepted a non-positive time %v", tm)
		}
	})
}

// TestKernelStampsArrive: the socket option is accepted and the kernel's
// stamp comes with a datagram.
func TestKernelStampsArrive(t *testing.T) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !rxTimestamps(srv) {
		t.Fatal("SO_TIMESTAMPNS refused")
	}
	c, err := net.DialUDP("udp", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := time.Now()
	c.Write([]byte("x"))
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf, oob := make([]byte, 16), make([]byte, oobSize)
	_, oobn, _, _, err := srv.ReadMsgUDPAddrPort(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	ts, ok := parseRxTime(oob[:oobn])
	if !ok || ts.Before(before.Add(-time.Second)) || ts.After(time.Now()) {
		t.Fatalf("kernel stamp %v (ok %v), sent at %v", ts, ok, before)
	}
}

func TestParseRxDrops(t *testing.T) {
	ts := cmsg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, 1_700_000_000, 5)
	ovfl := make([]byte, 20)
	binary.NativeEndian.PutUint64(ovfl[0:8], 20)
	binary.NativeEndian.PutUint32(ovfl[8:12], syscall.SOL_SOCKET)
	binary.NativeEndian.PutUint32(ovfl[12:16], syscall.SO_RXQ_OVFL)
	binary.NativeEndian.PutUint32(ovfl[16:20], 42)
	both := append(append([]byte{}, ts...), append(ovfl, 0, 0, 0, 0)...)
	if d, ok := parseRxDrops(both); !ok || d != 42 {
		t.Fatalf("after a timestamp: %d %v", d, ok)
	}
	if _, ok := parseRxDrops(ts); ok {
		t.Fatal("found drops in a timestamp alone")
	}
	s, _ := New(Config{})
	s.main.noteRxDrops(4294967290)
	s.main.noteRxDrops(5) // the kernel's 32-bit counter wrapped
	if s.Stats().RxDrops != 4294967301 {
		t.Fatalf("rx drops %d across the wrap", s.Stats().RxDrops)
	}
}
