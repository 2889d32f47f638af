//go:build linux

package webserver

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"github.com/socklab/socklab/internal/connlimit"
)

// A connection's reads and writes are non-blocking system calls that
// return in microseconds: what the socket can take or has, or EAGAIN, and
// then the poller waits. Through net.Conn each one still enters the
// scheduler's system-call state, and a loopback write, which runs the
// receiver's TCP stack before it returns, often outlasts sysmon's 20 µs
// tick: sysmon then takes the P away from the writing thread, wakes
// another thread to run it, and keeps ticking every 20 µs. Profiled under
// wrk on 2 cores, that hand-off churn (sysmon, futex wake-ups, exitsyscall
// without a P) cost more CPU per 1 KiB request than the request's own
// handling. sockConn makes the same calls as raw system calls inside the
// poller's RawConn, which still waits for readiness with the deadlines as
// set, so nothing else about the connection changes.

// sockListener is the innermost listener layer: its connections are
// sockConns. It is a connlimit.Layer, so the limiter can still accept
// from the socket itself.
type sockListener struct{ net.Listener }

func (l sockListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.WrapConn(c), nil
}

func (l sockListener) Unwrap() net.Listener { return l.Listener }

// WrapConn makes a TCP connection a sockConn; others pass unchanged.
func (l sockListener) WrapConn(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return newSockConn(tc, rc)
}

// sockConn is a TCP connection with raw-syscall Read and Write. ReadFrom
// (sendfile), CloseWrite, deadlines and the rest are the TCPConn's.
type sockConn struct {
	*net.TCPConn
	rc syscall.RawConn
	// The state of the call in progress, one read and one write at a time
	// (the poller's locks): the functions the RawConn calls are bound once,
	// so a call allocates nothing.
	rd, wr          rawOp
	readFn, writeFn func(fd uintptr) bool
}

type rawOp struct {
	buf   []byte
	n     int
	errno syscall.Errno
}

func newSockConn(tc *net.TCPConn, rc syscall.RawConn) *sockConn {
	c := &sockConn{TCPConn: tc, rc: rc}
	c.readFn, c.writeFn = c.read, c.write
	return c
}

// NetConn returns the TCP connection (connlimit peeks through it).
func (c *sockConn) NetConn() net.Conn { return c.TCPConn }

func (c *sockConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rd = rawOp{buf: p}
	err := c.rc.Read(c.readFn)
	n, errno := c.rd.n, c.rd.errno
	c.rd = rawOp{}
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// read is one read(2); false asks the poller to wait for data, under the
// read deadline.
func (c *sockConn) read(fd uintptr) bool {
	p := c.rd.buf
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		c.rd.n, c.rd.errno = int(r), e
		return true
	}
}

func (c *sockConn) Write(b []byte) (int, error) {
	c.wr = rawOp{buf: b}
	err := c.rc.Write(c.writeFn)
	n, errno := c.wr.n, c.wr.errno
	c.wr = rawOp{}
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case errno != 0:
		return n, c.opError("write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

// write writes what is left of the buffer; false asks the poller to wait
// for room, under the write deadline.
func (c *sockConn) write(fd uintptr) bool {
	b := c.wr.buf
	for c.wr.n < len(b) {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[c.wr.n])), uintptr(len(b)-c.wr.n))
		switch e {
		case 0:
			c.wr.n += int(r)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.wr.errno = e
			return true
		}
	}
	return true
}

// opError wraps err as net.Conn's methods do (the RawConn's own errors
// come as a "raw-read" or "raw-write" *net.OpError).
func (c *sockConn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

var _ connlimit.Layer = sockListener{}
