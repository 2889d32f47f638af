//go:build linux

package main

import (
	"net"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The echo server and the sender's receiver are the bench's, not the relay
// under test's: on a 2-core machine shared with the relay they must cost as
// little CPU as they can, or they, not the relay, drop first (one read and
// one write per datagram did, at 100k datagrams/s). So on Linux they move
// up to ioBatch datagrams per recvmmsg/sendmmsg, with RawSyscall (the
// socket never blocks, so the Go scheduler need not hand its processor
// away around each call). The sender still sends one datagram per call.
const ioBatch = 64

// mmsgBatch is a receive batch whose headers keep each datagram's source,
// so the same headers can send the datagrams back.
type mmsgBatch struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
	bufs  [][]byte
	n     int
	errno unix.Errno
	recv  func(fd uintptr) bool
	out   []unix.Mmsghdr
	send  func(fd uintptr) bool
}

func newMmsgBatch() *mmsgBatch {
	b := &mmsgBatch{
		hdrs:  make([]unix.Mmsghdr, ioBatch),
		iovs:  make([]unix.Iovec, ioBatch),
		names: make([]unix.RawSockaddrInet6, ioBatch),
		bufs:  make([][]byte, ioBatch),
	}
	for i := range b.hdrs {
		b.bufs[i] = make([]byte, 65536)
		b.hdrs[i].Hdr.Iov = &b.iovs[i]
		b.hdrs[i].Hdr.SetIovlen(1)
	}
	b.recv = b.recvFn
	b.send = b.sendFn
	return b
}

func (b *mmsgBatch) recvFn(fd uintptr) bool {
	for i := range b.hdrs {
		b.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(len(b.bufs[i]))
	}
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), ioBatch, unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait for more
		}
		b.n, b.errno = int(r), e
		if e != 0 {
			b.n = 0
		}
		return true
	}
}

func (b *mmsgBatch) sendFn(fd uintptr) bool {
	for len(b.out) > 0 {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.out[0])), uintptr(len(b.out)), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			b.out = b.out[r:]
		case unix.EINTR:
		case unix.EAGAIN:
			return false // send buffer full: wait
		default:
			b.out = b.out[1:] // skip the one that failed
		}
	}
	return true
}

// read waits for at least one datagram (or the read deadline) and returns
// how many it took; an error the socket reports (ECONNREFUSED) comes back
// as such with 0.
func (b *mmsgBatch) read(rc syscall.RawConn) (int, error) {
	if err := rc.Read(b.recv); err != nil {
		return 0, err
	}
	if b.errno != 0 {
		return 0, b.errno
	}
	return b.n, nil
}

func (b *mmsgBatch) payload(i int) []byte { return b.bufs[i][:b.hdrs[i].Len] }

// serveEcho echoes every datagram on c back to its sender.
func serveEcho(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	b := newMmsgBatch()
	for {
		n, err := b.read(rc)
		if err != nil {
			if isClosed(err) {
				return err
			}
			continue
		}
		for i := range n {
			b.iovs[i].SetLen(int(b.hdrs[i].Len)) // the source address stays: reply to it
		}
		b.out = b.hdrs[:n]
		if err := rc.Write(b.send); err != nil {
			return err
		}
	}
}

// readReplies calls each for every datagram arriving on c until none has
// come for quiet.
func readReplies(c *net.UDPConn, quiet time.Duration, each func(p []byte)) {
	rc, err := c.SyscallConn()
	if err != nil {
		readRepliesPlain(c, quiet, each)
		return
	}
	b := newMmsgBatch()
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		n, err := b.read(rc)
		if err != nil {
			if isTimeout(err) || isClosed(err) {
				return
			}
			continue // ECONNREFUSED while the relay warms up
		}
		for i := range n {
			each(b.payload(i))
		}
	}
}
