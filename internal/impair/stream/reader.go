package stream

import (
	"net"
	"os"
	"sync"
	"time"

	"github.com/socklab/socklab/internal/impair"
)

// reader moves bytes from the connection into a queue of chunks, each due
// after its delay; read hands them out when due.
type reader struct {
	c     net.Conn
	link  *impair.Link // used by loop only
	limit int
	piece int

	mu       sync.Mutex
	q        []chunk
	queued   int
	deadline time.Time
	closed   bool
	notify   chan struct{} // to read: data, deadline change, close
	space    chan struct{} // to loop: room in the queue, close
}

func newReader(c net.Conn, link *impair.Link, limit, piece int) *reader {
	return &reader{c: c, link: link, limit: limit, piece: piece, notify: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

func (r *reader) loop() {
	buf := make([]byte, 32<<10)
	for {
		r.mu.Lock()
		for r.queued >= r.limit && !r.closed {
			r.mu.Unlock()
			<-r.space
			r.mu.Lock()
		}
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return
		}
		n, err := r.c.Read(buf)
		now := time.Now()
		r.mu.Lock()
		for off := 0; off < n; off += r.piece {
			end := min(off+r.piece, n)
			r.q = append(r.q, chunk{data: append([]byte(nil), buf[off:end]...), due: r.link.Stream(now, end-off)})
			r.queued += end - off
		}
		if err != nil {
			// The end of the stream (FIN) or its failure travels behind the
			// last bytes, with the same delay.
			r.q = append(r.q, chunk{err: err, due: r.link.Stream(now, 0)})
		}
		r.mu.Unlock()
		signal(r.notify)
		if err != nil {
			return
		}
	}
}

func (r *reader) read(p []byte) (int, error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return 0, net.ErrClosed
		}
		now := time.Now()
		if !r.deadline.IsZero() && !now.Before(r.deadline) {
			r.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		wake := r.deadline
		if len(r.q) > 0 {
			head := &r.q[0]
			if !head.due.After(now) {
				if head.err != nil {
					err := head.err // stays queued: later reads get it too
					r.mu.Unlock()
					return 0, err
				}
				n := copy(p, head.data)
				head.data = head.data[n:]
				r.queued -= n
				if len(head.data) == 0 {
					r.q[0] = chunk{}
					r.q = r.q[1:]
				}
				r.mu.Unlock()
				signal(r.space)
				return n, nil
			}
			if wake.IsZero() || head.due.Before(wake) {
				wake = head.due
			}
		}
		r.mu.Unlock()
		if wake.IsZero() {
			<-r.notify
		} else {
			sleep(wake, r.notify)
		}
	}
}

func (r *reader) setDeadline(t time.Time) {
	r.mu.Lock()
	r.deadline = t
	r.mu.Unlock()
	signal(r.notify)
}

func (r *reader) close() {
	r.mu.Lock()
	r.closed = true
	r.q = nil
	r.mu.Unlock()
	signal(r.notify)
	signal(r.space)
}
