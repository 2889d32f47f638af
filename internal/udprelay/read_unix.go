//go:build unix && !linux

package udprelay

import (
	"errors"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// downBatch is how many replies a session's reader takes per wake-up.
const downBatch = 8

// replyBatch holds receive buffers for one wake-up of a session's reader.
// Buffers are made on first use and kept with the batch in the pool.
type replyBatch struct {
	bufs [downBatch][]byte
	n    [downBatch]int
	msgs [downBatch]ipv4.Message
}

func (b *replyBatch) buf(i int) []byte {
	if b.bufs[i] == nil {
		b.bufs[i] = make([]byte, bufSize)
	}
	return b.bufs[i]
}

// batchPool holds reply batches. A session's reader takes one only while
// replies are ready (see readUpstream), so 10000 idle sessions hold none.
var batchPool = sync.Pool{New: func() any { return new(replyBatch) }}

// readUpstream relays s's upstream replies until its socket closes. It waits
// for readability through the runtime poller and receives inside the raw
// callback, so a session blocked waiting owns no buffer: only a goroutine
// and a socket. Each wake-up takes up to downBatch replies, which leave to
// the client in one sendmmsg when nothing impairs them.
func (r *Relay) readUpstream(s *session) {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		r.readUpstreamPlain(s)
		return
	}
	for {
		b := batchPool.Get().(*replyBatch)
		k := 0
		err := rc.Read(func(fd uintptr) bool {
			for k < downBatch {
				// read(2), not recvfrom(2): the socket is connected, and
				// x/sys's Recvfrom spends a getsockopt per datagram
				// decoding the source address.
				n, rerr := unix.Read(int(fd), b.buf(k))
				switch {
				case rerr == nil:
					b.n[k] = n
					k++
				case errors.Is(rerr, unix.EAGAIN) || errors.Is(rerr, unix.EINTR):
					return k > 0 // nothing more now; wait if nothing at all
				default:
					// ECONNREFUSED after an ICMP port unreachable from an
					// upstream that is down: it concerns one datagram.
					return true
				}
			}
			return true
		})
		if err != nil { // closed
			batchPool.Put(b)
			return
		}
		if k > 0 {
			r.handleDownBatch(s, b, k)
		}
		batchPool.Put(b)
	}
}

// handleDownBatch forwards k replies from b to s's client.
func (r *Relay) handleDownBatch(s *session, b *replyBatch, k int) {
	if k == 1 || r.downLink.Active() {
		for i := range k {
			r.handleDown(s, b.bufs[i][:b.n[i]])
		}
		return
	}
	c := &r.c.down
	s.last.Store(r.now().UnixNano())
	ms := b.msgs[:k]
	for i := range ms {
		c.packets.Add(1)
		c.bytes.Add(uint64(b.n[i]))
		ms[i] = ipv4.Message{Buffers: [][]byte{b.bufs[i][:b.n[i]]}, Addr: s.sio.clientAddr}
	}
	for len(ms) > 0 {
		n, err := r.lio.bc.WriteBatch(ms, 0)
		for _, m := range ms[:n] {
			c.sent.Add(1)
			c.sentBytes.Add(uint64(len(m.Buffers[0])))
		}
		ms = ms[n:]
		if err != nil {
			c.errors.Add(1)
			r.log.Debug("udp relay send", "client", s.client.String(), "up", false, "err", err)
			if len(ms) > 0 {
				ms = ms[1:]
			}
		}
	}
	for i := range k {
		b.msgs[i] = ipv4.Message{} // drop references before pooling
	}
}
