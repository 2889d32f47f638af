//go:build linux

package webserver

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// sockPair returns a server-side sockConn and its client.
func sockPair(t *testing.T) (*sockConn, net.Conn) {
	t.Helper()
	ln := sockListener{mustListen(t)}
	t.Cleanup(func() { ln.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sc, ok := c.(*sockConn)
	if !ok {
		t.Fatalf("accepted a %T, want *sockConn", c)
	}
	return sc, client
}

// TestSockConnData: bytes go both ways whole, a write larger than the
// socket buffers waits for the reader and completes, and the peer's close
// reads as io.EOF.
func TestSockConnData(t *testing.T) {
	sc, client := sockPair(t)
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := sc.Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(io.LimitReader(client, int64(len(big)))); got <- b }()
	if n, err := sc.Write(big); err != nil || n != len(big) {
		t.Fatalf("wrote %d of %d: %v", n, len(big), err)
	}
	if b := <-got; !bytes.Equal(b, big) {
		t.Fatalf("the client read %d bytes, not the %d written", len(b), len(big))
	}
	client.Close()
	if n, err := sc.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after the peer closed: %d, %v; want 0, io.EOF", n, err)
	}
}

// TestSockConnDeadlines: a read with nothing to read and a write the peer
// does not take end at their deadlines with a timeout error, as net.Conn's.
func TestSockConnDeadlines(t *testing.T) {
	sc, _ := sockPair(t)
	if err := sc.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) || !os.IsTimeout(err) {
		t.Fatalf("read past its deadline: %v, want a timeout", err)
	}
	if err := sc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<20) // more than the client's and our buffers hold
	n, err := sc.Write(big)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n >= len(big) {
		t.Fatalf("write to a peer that does not read: %d bytes, %v; want a timeout", n, err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" {
		t.Fatalf("write error %#v, want a *net.OpError for write", err)
	}
	sc.Close()
	if _, err := sc.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v, want net.ErrClosed", err)
	}
	if _, err := sc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v, want net.ErrClosed", err)
	}
}

// TestSockConnAllocs: a read and a write allocate nothing.
func TestSockConnAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under coverage and the race detector")
	}
	sc, client := sockPair(t)
	msg, buf := []byte("0123456789"), make([]byte, 64)
	n := testing.AllocsPerRun(100, func() {
		if _, err := sc.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(client, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(sc, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%.1f allocations per write and read, want 0", n)
	}
}
