package qos

import (
	"net"

	"golang.org/x/net/ipv4"

	"github.com/socklab/socklab/internal/qoswire"
)

// batchWriter sends several probes in one system call, the way the relay
// does: at a gigabit of 1,400-byte probes a write per probe is the
// sender's ceiling. Where the kernel segments UDP (gso_linux.go) the
// probes, all of one size and back to back in one buffer, leave in runs of
// up to segs per message; otherwise, or once the kernel refuses, one
// message per probe, several messages per sendmmsg(2) (x/net's batch API;
// one write each outside Linux).
type batchWriter struct {
	pc    *ipv4.PacketConn // the batch API works for IPv6 sockets too: it only passes buffers
	size  int
	buf   []byte         // sendBatch probes back to back
	msgs  []ipv4.Message // one per probe
	runs  []ipv4.Message // one per segmented run
	segs  int            // probes per segmented run; 0: no offload
	ctrl  []byte         // the UDP_SEGMENT control message
	monos []int64        // each queued probe's send stamp, for the series
	n     int

	gsoSends   int64 // segmented sends that left
	gsoRefused error // the refusal that turned offload off, nil if none
}

func newBatchWriter(c *net.UDPConn, size int) *batchWriter {
	b := &batchWriter{pc: ipv4.NewPacketConn(c), size: size, buf: make([]byte, sendBatch*size),
		msgs: make([]ipv4.Message, sendBatch), monos: make([]int64, sendBatch)}
	for i := range b.msgs {
		b.msgs[i].Buffers = [][]byte{b.probe(i)}
	}
	if b.segs = gsoSegments(c, size); b.segs > 0 {
		b.ctrl = gsoControl(size)
		b.runs = make([]ipv4.Message, (sendBatch+b.segs-1)/b.segs)
		for i := range b.runs {
			b.runs[i].Buffers = [][]byte{nil}
			b.runs[i].OOB = b.ctrl
		}
	}
	return b
}

func (b *batchWriter) probe(i int) []byte { return b.buf[i*b.size : (i+1)*b.size] }

func (b *batchWriter) reset() { b.n = 0 }

// add queues a probe with header h, stamped mono.
func (b *batchWriter) add(h *qoswire.Header, mono int64) {
	_ = h.Marshal(b.probe(b.n)) // every buffer is at least HeaderLen (checked in Config)
	b.monos[b.n] = mono
	b.n++
}

// flush sends the queued probes in order and returns how many left; on an
// error the rest of the batch is not sent. A segmented send the kernel
// refuses turns offload off for good and the rest of the batch goes one
// datagram per message.
func (b *batchWriter) flush() (int, error) {
	done := 0
	if b.segs > 0 && b.n > 1 {
		k, err := b.flushRuns()
		done = k
		if err == nil || !gsoRefused(err) {
			return done, err
		}
		b.segs, b.gsoRefused = 0, err
	}
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

// flushRuns sends the queued probes as segmented runs of up to segs and
// returns how many probes left.
func (b *batchWriter) flushRuns() (int, error) {
	nr := 0
	for i := 0; i < b.n; i += b.segs {
		b.runs[nr].Buffers[0] = b.buf[i*b.size : min(i+b.segs, b.n)*b.size]
		nr++
	}
	sent, done := 0, 0
	for sent < nr {
		k, err := b.pc.WriteBatch(b.runs[sent:nr], 0)
		for _, m := range b.runs[sent : sent+max(k, 0)] {
			done += len(m.Buffers[0]) / b.size
		}
		sent += max(k, 0)
		b.gsoSends += int64(max(k, 0))
		if err != nil {
			return done, err
		}
		if k <= 0 {
			break
		}
	}
	return done, nil
}
