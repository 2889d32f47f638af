package stream

import (
	"net"
	"os"
	"sync"
	"time"

	"github.com/socklab/socklab/internal/impair"
)

// flushGrace bounds how long Close waits for queued bytes past their due
// time (a peer that stopped reading would otherwise hold the socket).
const flushGrace = 5 * time.Second

// writer queues written bytes as chunks due after their delay; loop sends
// them when due.
type writer struct {
	c     net.Conn
	limit int
	piece int

	mu       sync.Mutex
	link     *impair.Link
	q        []chunk
	queued   int
	err      error // the first send error: every later Write gets it
	deadline time.Time
	closed   bool          // Close called: no more writes; flush, then close c
	notify   chan struct{} // to loop: new chunk, close
	space    chan struct{} // to write: room, error, deadline change
}

func newWriter(c net.Conn, link *impair.Link, limit, piece int) *writer {
	return &writer{c: c, link: link, limit: limit, piece: piece, notify: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

func (w *writer) write(p []byte) (int, error) {
	for {
		w.mu.Lock()
		switch {
		case w.closed:
			w.mu.Unlock()
			return 0, net.ErrClosed
		case w.err != nil:
			err := w.err
			w.mu.Unlock()
			return 0, err
		case !w.deadline.IsZero() && !time.Now().Before(w.deadline):
			w.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		if w.queued < w.limit {
			now := time.Now()
			for off := 0; off < len(p); off += w.piece {
				end := min(off+w.piece, len(p))
				w.q = append(w.q, chunk{data: append([]byte(nil), p[off:end]...), due: w.link.Stream(now, end-off)})
			}
			w.queued += len(p)
			w.mu.Unlock()
			signal(w.notify)
			return len(p), nil
		}
		deadline := w.deadline
		w.mu.Unlock()
		if deadline.IsZero() {
			<-w.space
		} else {
			sleep(deadline, w.space)
		}
	}
}

func (w *writer) loop() {
	for {
		w.mu.Lock()
		if len(w.q) == 0 {
			closed := w.closed
			w.mu.Unlock()
			if closed {
				w.c.Close()
				return
			}
			<-w.notify
			continue
		}
		head := w.q[0]
		w.mu.Unlock()
		if !sleep(head.due, w.notify) {
			continue // woken early (close, more data): look again
		}
		var err error
		switch {
		case head.closeWrite:
			err = w.c.(closeWriter).CloseWrite()
		default:
			_, err = w.c.Write(head.data)
		}
		w.mu.Lock()
		w.q[0] = chunk{}
		w.q = w.q[1:]
		w.queued -= len(head.data)
		if err != nil && w.err == nil {
			w.err = err
			w.q, w.queued = nil, 0
		}
		w.mu.Unlock()
		signal(w.space)
	}
}

func (w *writer) closeWrite() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return net.ErrClosed
	}
	due := w.link.Stream(time.Now(), 0)
	w.q = append(w.q, chunk{closeWrite: true, due: due})
	signal(w.notify)
	return nil
}

func (w *writer) setDeadline(t time.Time) {
	w.mu.Lock()
	w.deadline = t
	w.mu.Unlock()
	signal(w.space)
}

func (w *writer) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	last := time.Now()
	if n := len(w.q); n > 0 {
		last = w.q[n-1].due
	}
	w.mu.Unlock()
	// Bound the flush: a peer that stopped reading must not hold the
	// socket open for ever.
	_ = w.c.SetWriteDeadline(last.Add(flushGrace))
	signal(w.notify)
	signal(w.space)
}
