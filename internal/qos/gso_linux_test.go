//go:build linux

package qos

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/qoswire"
)

// queue adds probes seq0..seq0+n-1 to bw, each with a payload pattern of
// its own after the header, and flushes them.
func queueAndFlush(t *testing.T, bw *batchWriter, seq0 uint64, n int) {
	t.Helper()
	bw.reset()
	for i := range n {
		seq := seq0 + uint64(i)
		bw.add(&qoswire.Header{Session: 9, Seq: seq}, int64(seq))
		fillPattern(bw.probe(i), seq)
	}
	if sent, err := bw.flush(); sent != n || err != nil {
		t.Fatalf("flush: %d of %d sent, %v", sent, n, err)
	}
}

func fillPattern(p []byte, seq uint64) {
	for j := qoswire.HeaderLen; j < len(p); j++ {
		p[j] = byte(seq) ^ byte(j)
	}
}

// expect reads n probes seq0.. from rc, each whole and alone.
func expect(t *testing.T, rc *net.UDPConn, seq0 uint64, n, size int) {
	t.Helper()
	want := make([]byte, size)
	buf := make([]byte, 70000)
	_ = rc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range n {
		k, err := rc.Read(buf)
		if err != nil {
			t.Fatalf("probe %d of %d: %v", i, n, err)
		}
		h, err := qoswire.Parse(buf[:k])
		if err != nil || k != size || h.Seq != seq0+uint64(i) || h.Session != 9 {
			t.Fatalf("datagram %d: %d bytes, %+v, %v; want probe %d of %d bytes", i, k, h, err, seq0+uint64(i), size)
		}
		fillPattern(want, h.Seq)
		if !bytes.Equal(buf[qoswire.HeaderLen:k], want[qoswire.HeaderLen:]) {
			t.Fatalf("probe %d: payload cut in the wrong place", h.Seq)
		}
	}
}

// The sender's segmented sends (UDP_SEGMENT) carry every probe whole, in
// order; when the kernel refuses them (here: a socket without UDP
// checksums, which GSO cannot do, EINVAL) the same batch goes out one
// datagram each, nothing lost, and offload stays off.
func TestBatchWriterGSOAndFallback(t *testing.T) {
	const size = 300
	rc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tuneSocket(rc)
	sc, err := net.DialUDP("udp4", nil, rc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	bw := newBatchWriter(sc, size)
	if bw.segs == 0 {
		t.Skip("this kernel has no UDP segmentation offload (UDP_SEGMENT)")
	}
	queueAndFlush(t, bw, 0, sendBatch) // more than one run: 64 probes, 64 a run at most
	expect(t, rc, 0, sendBatch, size)
	if bw.gsoSends == 0 || bw.gsoRefused != nil {
		t.Fatalf("offload not used: %d segmented sends, refused %v", bw.gsoSends, bw.gsoRefused)
	}

	rawc, _ := sc.SyscallConn()
	_ = rawc.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1)
	})
	if err != nil {
		t.Skipf("SO_NO_CHECK: %v", err)
	}
	before := bw.gsoSends
	queueAndFlush(t, bw, sendBatch, 40)
	expect(t, rc, sendBatch, 40, size)
	if bw.segs != 0 || !errors.Is(bw.gsoRefused, unix.EINVAL) || bw.gsoSends != before {
		t.Fatalf("after a refusal: segs %d, refused %v, sends %d (were %d)", bw.segs, bw.gsoRefused, bw.gsoSends, before)
	}
	queueAndFlush(t, bw, sendBatch+40, 10) // and it stays off
	expect(t, rc, sendBatch+40, 10, size)
}
