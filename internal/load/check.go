package load

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/socklab/socklab/internal/qoswire"
)

// CheckTCP opens and closes one TCP connection to addr and returns how long
// the handshake took.
func CheckTCP(ctx context.Context, addr string, timeout time.Duration) (time.Duration, error) {
	d := net.Dialer{Timeout: timeout}
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("tcp connect %s: %w", addr, err)
	}
	rtt := time.Since(start)
	c.Close()
	return rtt, nil
}

// CheckUDPEcho sends one qoswire probe to addr (a UDP echo, a QoS reflector
// or the relay in front of one) and waits up to timeout for it to come back.
// It returns the round-trip time and the reply header; a plain echo returns
// the probe unstamped, a reflector sets the reply flag and its timestamps.
func CheckUDPEcho(ctx context.Context, addr string, timeout time.Duration) (time.Duration, qoswire.Header, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return 0, qoswire.Header{}, fmt.Errorf("udp %s: %w", addr, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var sid [8]byte
	_, _ = rand.Read(sid[:])
	start := time.Now()
	h := qoswire.Header{Session: binary.BigEndian.Uint64(sid[:]), SendMono: monoNs(start), SendWall: start.UnixNano()}
	buf := make([]byte, 2048)
	if err := h.Marshal(buf[:qoswire.HeaderLen]); err != nil {
		return 0, qoswire.Header{}, err
	}
	if _, err := conn.Write(buf[:qoswire.HeaderLen]); err != nil {
		return 0, qoswire.Header{}, fmt.Errorf("udp send to %s: %w", addr, err)
	}
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			} else if errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, qoswire.Header{}, fmt.Errorf("udp echo %s: no reply within %v: %w", addr, timeout, err)
			}
			return 0, qoswire.Header{}, fmt.Errorf("udp echo %s: %w", addr, err)
		}
		rh, err := qoswire.Parse(buf[:n])
		if err != nil || rh.Session != h.Session || rh.Seq != h.Seq {
			continue // someone else's datagram
		}
		return time.Since(start), rh, nil
	}
}
