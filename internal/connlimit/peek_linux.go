package connlimit

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// rawAccept: Listen may take connections straight from the socket.
const rawAccept = true

// DeferAcceptTimeout is how long the kernel keeps a connection that has
// sent nothing away from accept (TCP_DEFER_ACCEPT); after it, the next
// ACK from the client delivers the connection anyway.
const DeferAcceptTimeout = time.Second

// DeferAccept asks the kernel to hand ln's connections to accept only once
// their first bytes have arrived (TCP_DEFER_ACCEPT, what nginx's "listen
// ... deferred" sets): clients that connect and send nothing cost the
// server nothing for DeferAcceptTimeout, and when a connection is accepted
// its request is there to be peeked at. A no-op for listeners that are not
// TCP, and off Linux.
func DeferAccept(ln net.Listener) error {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, int(DeferAcceptTimeout/time.Second))
	})
	return errors.Join(err, serr)
}

// peek copies what c has received and not yet read into buf, without
// consuming it or waiting; ok is false when c's socket is out of reach.
func peek(c net.Conn, buf []byte) (n int, ok bool) {
	sc := syscallConn(c)
	if sc == nil {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait: what is there now is what counts
	})
	if err != nil || rerr != nil || n < 0 {
		return 0, true // nothing yet (EAGAIN), or a socket already reset
	}
	return n, true
}

// acceptAtCap takes the connections queued on the listening socket while
// the cap is full or newcomers wait. Each one that has not sent a whole
// first message goes to the waiting room (unless a keep-alive sits idle
// to make room, or a slot is free and none waits), until one may take a
// slot: that one is returned as a net.Conn (not yet admitted or wrapped),
// with whether its message was whole. While nothing is queued it waits,
// through a duplicate of the listening descriptor registered with the
// runtime's poller (a listener's own RawConn cannot wait), until a
// connection queues, a slot frees (drop wakes it through the duplicate's
// read deadline) or the oldest waiter's deadline comes. It returns nil
// when a slot is free: Accept promotes the oldest waiter, or takes over.
func (ln *listener) acceptAtCap() (net.Conn, bool, error) {
	rc, err := ln.waiter()
	if err != nil {
		return nil, false, err
	}
	buf := peekBufs.Get().(*[]byte)
	defer peekBufs.Put(buf)
	fd, whole := -1, false
	var aerr error
	for {
		ln.expire()
		// The deadline is set before the callback looks at the cap: a
		// slot freed after that look wakes the wait (see wake).
		ln.woken.Store(false)
		deadline := ln.nextExpiry()
		_ = ln.dup.SetReadDeadline(deadline)
		err = rc.Read(func(lfd uintptr) bool {
			fd, whole, aerr = ln.acceptQueued(int(lfd), *buf)
			// The first waiter in an empty room needs a deadline set.
			return fd >= 0 || aerr != nil || !ln.l.full() || (deadline.IsZero() && ln.waiters() > 0)
		})
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded) && !ln.closed.Load():
			if !ln.l.full() {
				return nil, false, nil
			}
			continue // a waiter's deadline: expire it
		case err == nil && fd < 0 && aerr == nil && ln.l.full():
			continue
		}
		break
	}
	switch {
	case err != nil && ln.closed.Load():
		return nil, false, net.ErrClosed
	case err != nil:
		return nil, false, err
	case aerr != nil:
		return nil, false, aerr
	case fd < 0:
		return nil, false, nil
	}
	c, err := fdConn(fd)
	if err != nil {
		return nil, false, &net.OpError{Op: "accept", Net: "tcp", Addr: ln.raw.Addr(), Err: err}
	}
	return c, whole, nil
}

// promoteEvery is how many queued connections the acceptor takes, while a
// slot is free, before it promotes a waiter into it: a whole request in
// the queue gets in without waiting for a wave of promotions (thousands
// at once when a wave of header timeouts frees as many slots) and a
// steady stream of newcomers cannot keep the waiters from free slots.
const promoteEvery = 16

// acceptQueued accepts from lfd while connections are queued and the cap
// is full or newcomers wait, sending each unfinished one to the waiting
// room, until one may take a slot (its descriptor is returned) or the
// queue is empty (-1). While a slot is free it takes at most
// promoteEvery; while the cap is full it drains the queue (the poller
// reports new connections as an edge, so one left queued would wait for
// the next to arrive).
func (ln *listener) acceptQueued(lfd int, buf []byte) (int, bool, error) {
	l := ln.l
	for taken := 0; ; {
		full := l.full()
		if !full && (taken >= promoteEvery || ln.waiters() == 0) {
			return -1, false, nil
		}
		// Blocking mode on the new socket: os.NewFile in fdConn then
		// leaves it alone, and the peek never waits (MSG_DONTWAIT).
		nfd, _, err := syscall.Accept4(lfd, syscall.SOCK_CLOEXEC)
		switch {
		case err == syscall.EAGAIN:
			return -1, false, nil
		case err == syscall.EINTR || err == syscall.ECONNABORTED:
			continue
		case (err == syscall.EMFILE || err == syscall.ENFILE) && ln.shedOldest():
			continue // a waiter's descriptor freed for the newcomer
		case err != nil:
			// The server backs off on this (a temporary error), and the
			// connection stays queued meanwhile.
			return -1, false, &net.OpError{Op: "accept", Net: "tcp", Addr: ln.raw.Addr(), Err: os.NewSyscallError("accept4", err)}
		}
		taken++
		l.accepts.Add(1)
		n, _, perr := syscall.Recvfrom(nfd, buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		whole := perr == nil && n > 0 && l.cfg.Complete(buf[:n])
		if whole || (full && l.idleKeepAlive()) {
			return nfd, whole, nil
		}
		ln.wait(nfd)
	}
}

// fdConn makes an accepted socket a net.Conn registered with the poller.
func fdConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "")
	c, err := net.FileConn(f) // a duplicate, registered with the poller
	f.Close()
	return c, err
}

// wait puts an accepted socket in the waiting room; if the room is full,
// the one that has waited longest is shed to make place (a bound of zero
// sheds the newcomer itself).
func (ln *listener) wait(fd int) {
	l := ln.l
	ln.mu.Lock()
	if ln.room.bound <= 0 || ln.closed.Load() { // closing: closeRoom may have emptied the room already
		ln.mu.Unlock()
		shedFD(l, fd)
		return
	}
	var old []int
	now := l.mono()
	for ln.room.len() > 0 && (ln.room.len() >= ln.room.bound || now-ln.room.oldest().at >= int64(l.cfg.WaitTimeout)) {
		old = append(old, ln.room.pop().fd)
	}
	ln.room.push(waiter{fd: fd, at: now})
	ln.mu.Unlock()
	l.waiting.Add(1 - int64(len(old)))
	for _, fd := range old {
		shedFD(l, fd)
	}
}

// shedFD closes an unfinished newcomer's socket unserved (its unread bytes
// make the close a reset).
func shedFD(l *Limiter, fd int) {
	syscall.Close(fd)
	l.shed.Add(1)
}

// shedOldest sheds the longest waiter; false when none waits.
func (ln *listener) shedOldest() bool {
	ln.mu.Lock()
	if ln.room.len() == 0 {
		ln.mu.Unlock()
		return false
	}
	w := ln.room.pop()
	ln.mu.Unlock()
	ln.l.waiting.Add(-1)
	shedFD(ln.l, w.fd)
	return true
}

// expire sheds the waiters whose WaitTimeout has passed.
func (ln *listener) expire() {
	l := ln.l
	now := l.mono()
	for {
		ln.mu.Lock()
		if ln.room.len() == 0 || now-ln.room.oldest().at < int64(l.cfg.WaitTimeout) {
			ln.mu.Unlock()
			return
		}
		w := ln.room.pop()
		ln.mu.Unlock()
		l.waiting.Add(-1)
		shedFD(l, w.fd)
	}
}

// nextExpiry is when the oldest waiter's WaitTimeout passes; zero (no
// deadline) when none waits.
func (ln *listener) nextExpiry() time.Time {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.room.len() == 0 {
		return time.Time{}
	}
	left := ln.room.oldest().at + int64(ln.l.cfg.WaitTimeout) - ln.l.mono()
	return time.Now().Add(time.Duration(left))
}

// promote hands the longest waiter to the server when a slot is free:
// made a net.Conn, passed through the layers and admitted. Waiters whose
// client has gone (end of stream or reset, seen by a peek) are shed on
// the way. Nil when no slot is free or none waits.
func (ln *listener) promote() net.Conn {
	l := ln.l
	ln.expire()
	for {
		ln.mu.Lock()
		if ln.room.len() == 0 || l.full() {
			ln.mu.Unlock()
			return nil
		}
		w := ln.room.pop()
		ln.mu.Unlock()
		l.waiting.Add(-1)
		if ln.gone(w.fd) {
			shedFD(l, w.fd)
			continue
		}
		c, err := fdConn(w.fd)
		if err != nil {
			l.shed.Add(1) // out of descriptors: fdConn closed it
			continue
		}
		if tc := l.admitAs(ln.wrap(c), false); tc != nil {
			l.promoted.Add(1)
			return tc
		}
		c.Close()
	}
}

// gone reports whether a waiter's client has gone: reset, or closed (its
// end of stream is in: TCP state CLOSE_WAIT) without having sent a whole
// first message. A half-closed client whose request is whole is served
// (issue 13 #8).
func (ln *listener) gone(fd int) bool {
	buf := peekBufs.Get().(*[]byte)
	defer peekBufs.Put(buf)
	n, _, err := syscall.Recvfrom(fd, *buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case err == syscall.EAGAIN:
		n = 0 // nothing sent yet
	case err != nil || n == 0:
		return true // reset, or closed with nothing sent
	}
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil || info.State != tcpCloseWait {
		return err != nil
	}
	return !ln.l.cfg.Complete((*buf)[:n])
}

// tcpCloseWait is Linux's TCP_CLOSE_WAIT (include/net/tcp_states.h): the
// peer has closed its side.
const tcpCloseWait = 8

// closeRoom closes every waiter (the listener is closing).
func (ln *listener) closeRoom() {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	for ln.room.len() > 0 {
		syscall.Close(ln.room.pop().fd)
		ln.l.waiting.Add(-1)
	}
}

// wake ends the acceptor's wait at the cap at once: the duplicate's read
// deadline is put in the past, which the poller reports as a timeout to a
// wait in progress and to the next one. Of the slots freed between two
// looks at the cap (thousands at once when a wave of header timeouts
// passes), only the first sets it: the acceptor clears woken before it
// sets its own deadline and looks, so a slot freed after a look always
// finds woken clear, or set by a wake that has yet to land.
func (ln *listener) wake() {
	if !ln.closed.Load() && !ln.woken.Swap(true) {
		_ = ln.dup.SetReadDeadline(time.Unix(1, 0))
	}
}

// roomBound is the waiting room's size for cfg: MaxWaiting (zero: Max),
// cut so that RLIMIT_NOFILE (which Go raises to its hard limit at start)
// covers two descriptors per held connection, one per waiter and
// fdReserve. A full room then cannot make accept or the server run out.
func roomBound(cfg Config) int {
	b := cfg.MaxWaiting
	if b == 0 {
		b = cfg.Max
	}
	if b < 0 || cfg.Max <= 0 {
		return 0
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < 1<<31 {
		b = min(b, int(lim.Cur)-2*cfg.Max-fdReserve)
	}
	return max(b, 0)
}

// waiter is the RawConn of a duplicate of the listening descriptor, made
// on first use: as a non-blocking *os.File it is registered with the
// poller, so its Read can wait for connections to queue. Close closes it
// (until then it keeps the socket listening).
func (ln *listener) waiter() (syscall.RawConn, error) {
	ln.dupOnce.Do(func() {
		rc, err := ln.raw.SyscallConn()
		if err != nil {
			ln.dupErr = err
			return
		}
		var derr error
		err = rc.Control(func(fd uintptr) {
			var nfd int
			if nfd, derr = syscall.Dup(int(fd)); derr == nil {
				syscall.CloseOnExec(nfd)
				ln.dup = os.NewFile(uintptr(nfd), "listener")
			}
		})
		if ln.dupErr = errors.Join(err, derr); ln.dupErr == nil {
			ln.dupRaw, ln.dupErr = ln.dup.SyscallConn()
		}
		if ln.dupErr == nil {
			ln.l.mu.Lock()
			ln.l.wakers = append(ln.l.wakers, ln.wake)
			ln.l.mu.Unlock()
		}
	})
	return ln.dupRaw, ln.dupErr
}
