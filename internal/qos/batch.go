package qos

import (
	"net"

	"golang.org/x/net/ipv4"

	"github.com/socklab/socklab/internal/qoswire"
)

// batchWriter sends several probes in one system call (sendmmsg(2) on
// Linux, through x/net's batch API; one write each elsewhere), the way the
// relay does: at a gigabit of 1,400-byte probes a write per probe is the
// sender's ceiling.
type batchWriter struct {
	pc    *ipv4.PacketConn // the batch API works for IPv6 sockets too: it only passes buffers
	msgs  []ipv4.Message
	bufs  [][]byte
	monos []int64 // each queued probe's send stamp, for the series
	n     int
}

func newBatchWriter(c *net.UDPConn, size int) *batchWriter {
	b := &batchWriter{pc: ipv4.NewPacketConn(c), msgs: make([]ipv4.Message, sendBatch),
		bufs: make([][]byte, sendBatch), monos: make([]int64, sendBatch)}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, size)
		b.msgs[i].Buffers = [][]byte{b.bufs[i]}
	}
	return b
}

func (b *batchWriter) reset() { b.n = 0 }

// add queues a probe with header h, stamped mono.
func (b *batchWriter) add(h *qoswire.Header, mono int64) {
	_ = h.Marshal(b.bufs[b.n]) // every buffer is at least HeaderLen (checked in Config)
	b.monos[b.n] = mono
	b.n++
}

// flush sends the queued probes in order and returns how many left; on an
// error the rest of the batch is not sent.
func (b *batchWriter) flush() (int, error) {
	done := 0
	for done < b.n {
		k, err := b.pc.WriteBatch(b.msgs[done:b.n], 0)
		done += max(k, 0)
		if err != nil {
			return done, err
		}
		if k <= 0 {
			break
		}
	}
	return done, nil
}
