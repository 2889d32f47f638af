// Package stream applies impairment to TCP byte streams: a net.Conn wrapper
// that delays each chunk and paces it to a rate, per direction, as the policy
// in internal/impair decides. Only delay, jitter and rate apply: losing,
// duplicating or corrupting bytes would only make TCP retransmit (the kernel
// below already delivered them), so those settings are ignored here. Nothing
// is dropped: when the rate cannot keep up, the wrapper stops reading or
// makes Write wait, and TCP flow control slows the peer down.
package stream

import (
	"net"
	"time"

	"github.com/socklab/socklab/internal/impair"
)

// closeWriter is the half-close a *net.TCPConn offers.
type closeWriter interface{ CloseWrite() error }

// Conn is a net.Conn with delay and rate applied to both directions: what
// is read from it (impair.Up: for a server's accepted connection, client →
// server) and what is written to it (impair.Down). Deadlines are honoured
// by the wrapper itself, so a pending Read returns when its deadline passes
// (net/http relies on that).
type Conn struct {
	net.Conn
	r *reader
	w *writer
}

// Wrap returns c impaired by cfg's delay, jitter and rate. If cfg changes
// nothing on streams (no delay, jitter or rate), it returns c itself.
func Wrap(c net.Conn, cfg impair.Config) net.Conn {
	if !cfg.StreamActive() {
		return c
	}
	limit := queueLimit(cfg)
	piece := 32 << 10
	if cfg.Rate > 0 {
		// Pace in pieces of about 2 ms at the rate, so a large write does
		// not leave as one burst.
		piece = min(max(int(cfg.Rate/8*0.002), 1024), 32<<10)
	}
	wc := &Conn{Conn: c}
	wc.r = newReader(c, impair.NewLink(cfg, impair.Up), limit, piece)
	wc.w = newWriter(c, impair.NewLink(cfg, impair.Down), limit, piece)
	go wc.r.loop()
	go wc.w.loop()
	return wc
}

// queueLimit is how many bytes each direction may hold: enough for twice
// what the rate carries over the delay (so the bandwidth-delay product fits),
// and at least 4 MiB.
func queueLimit(cfg impair.Config) int {
	const floor = 4 << 20
	if cfg.Rate <= 0 {
		return floor
	}
	hold := (cfg.Delay + 4*cfg.Jitter).Seconds() * cfg.Rate / 8 * 2
	return max(floor, int(min(hold, 1<<30)))
}

// Read returns bytes that have reached their due time.
func (c *Conn) Read(p []byte) (int, error) { return c.r.read(p) }

// Write queues p to leave at its due time; it waits only when the queue is
// full.
func (c *Conn) Write(p []byte) (int, error) { return c.w.write(p) }

// Close stops reads at once and closes the connection once the bytes already
// written have left (within their due time plus a few seconds).
func (c *Conn) Close() error {
	c.r.close()
	c.w.close()
	return nil
}

// CloseWrite half-closes the connection after the bytes already written have
// left, if the underlying connection can half-close.
func (c *Conn) CloseWrite() error {
	if _, ok := c.Conn.(closeWriter); !ok {
		return c.Close()
	}
	return c.w.closeWrite()
}

func (c *Conn) SetDeadline(t time.Time) error {
	c.r.setDeadline(t)
	c.w.setDeadline(t)
	return nil
}

func (c *Conn) SetReadDeadline(t time.Time) error  { c.r.setDeadline(t); return nil }
func (c *Conn) SetWriteDeadline(t time.Time) error { c.w.setDeadline(t); return nil }

// chunk is a piece of the stream with the time it is due.
type chunk struct {
	data       []byte
	due        time.Time
	err        error // the read error that ended the stream (reader)
	closeWrite bool  // half-close here (writer)
}

// signal wakes whoever waits on ch, without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// sleep waits until t, or until wake is signalled; it reports whether t came.
func sleep(t time.Time, wake chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-wake:
		return false
	}
}

var _ net.Conn = (*Conn)(nil)
