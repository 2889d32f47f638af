package connlimit

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"
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
// the cap is full, shedding each one that has not sent a whole first
// message (unless a keep-alive sits idle to make room), until one has:
// that one is returned as a net.Conn (not yet admitted or wrapped), with
// whether its message was whole. While nothing is queued it waits, through
// a duplicate of the listening descriptor registered with the runtime's
// poller (a listener's own RawConn cannot wait). It returns nil when room
// opened: the listener's own Accept takes over.
func (ln *listener) acceptAtCap() (net.Conn, bool, error) {
	rc, err := ln.waiter()
	if err != nil {
		return nil, false, err
	}
	buf := peekBufs.Get().(*[]byte)
	defer peekBufs.Put(buf)
	fd, whole := -1, false
	var aerr error
	err = rc.Read(func(lfd uintptr) bool {
		for {
			if !ln.l.full() {
				return true
			}
			// Blocking mode on the new socket: os.NewFile below then
			// leaves it alone, and the peek never waits (MSG_DONTWAIT).
			nfd, _, err := syscall.Accept4(int(lfd), syscall.SOCK_CLOEXEC)
			switch {
			case err == syscall.EAGAIN:
				return false // wait for the next connection
			case err == syscall.EINTR || err == syscall.ECONNABORTED:
				continue
			case err != nil:
				aerr = &net.OpError{Op: "accept", Net: "tcp", Addr: ln.raw.Addr(), Err: os.NewSyscallError("accept4", err)}
				return true
			}
			n, _, perr := syscall.Recvfrom(nfd, *buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			whole = perr == nil && n > 0 && ln.l.cfg.Complete((*buf)[:n])
			if whole || ln.l.idleKeepAlive() {
				fd = nfd
				return true
			}
			syscall.Close(nfd) // shed: unread bytes make this a reset
			ln.l.refused.Add(1)
			ln.l.shed.Add(1)
			if ln.l.cfg.OnRefuse != nil {
				ln.l.cfg.OnRefuse()
			}
		}
	})
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
	f := os.NewFile(uintptr(fd), "")
	c, err := net.FileConn(f) // a duplicate, registered with the poller
	f.Close()
	if err != nil {
		return nil, false, &net.OpError{Op: "accept", Net: "tcp", Addr: ln.raw.Addr(), Err: err}
	}
	return c, whole, nil
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
	})
	return ln.dupRaw, ln.dupErr
}
