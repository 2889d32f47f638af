// Command gencap writes a synthetic pcap capture of a given size for the
// analyze benchmark: socklab QoS probes and their replies (with a little
// loss and reordering), bulk TCP transfers with their ACKs, ICMP echoes and
// a trickle of short UDP flows, on Ethernet, 10 µs apart.
//
//	go run ./bench/gencap -size 1GiB -o /tmp/bench.pcap
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/socklab/socklab/internal/qoswire"
	"github.com/socklab/socklab/internal/units"
)

func main() {
	size := flag.String("size", "1GiB", "approximate file size")
	out := flag.String("o", "bench.pcap", "output file")
	flag.Parse()
	n, err := units.ParseSize(*size)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gencap: -size: %v\n", err)
		os.Exit(2)
	}
	if err := generate(*out, n); err != nil {
		fmt.Fprintf(os.Stderr, "gencap: %v\n", err)
		os.Exit(1)
	}
}

// template builds an Ethernet frame once; the generator then patches the
// fields that change (sequence numbers, probe header) in place. Checksums are
// left stale: the analyzer does not check them.
func template(src, dst string, sport, dport uint16, proto layers.IPProtocol, payload int, tcpFlags string) []byte {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	ls := []gopacket.SerializableLayer{eth, ip}
	switch proto {
	case layers.IPProtocolUDP:
		ls = append(ls, &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)})
	case layers.IPProtocolTCP:
		t := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Window: 65535, DataOffset: 5}
		t.ACK = true
		t.PSH = tcpFlags == "PA"
		ls = append(ls, t)
	case layers.IPProtocolICMPv4:
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(uint8(sport), 0), Id: dport})
	}
	ls = append(ls, gopacket.Payload(make([]byte, payload)))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		panic(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

const (
	ethIP   = 14
	udpData = ethIP + 20 + 8
	tcpHdr  = ethIP + 20
)

// capWriter writes frames 10 µs apart and counts the file's bytes.
type capWriter struct {
	w       *pcapgo.Writer
	ts      time.Time
	written int64
}

func (c *capWriter) put(frame []byte) error {
	c.ts = c.ts.Add(10 * time.Microsecond)
	c.written += int64(16 + len(frame))
	return c.w.WritePacket(gopacket.CaptureInfo{Timestamp: c.ts, CaptureLength: len(frame), Length: len(frame)}, frame)
}

const (
	sessions = 4 // QoS sessions
	bulk     = 8 // bulk TCP transfers
)

// traffic is the frames of every flow, built once and patched in place,
// and the sequence numbers each flow has reached.
type traffic struct {
	req, rep         [sessions][]byte
	qseq             [sessions]uint64
	data, ack        [bulk][]byte
	tseq             [bulk]uint32
	echoReq, echoRep []byte
	small            []byte
}

func newTraffic() *traffic {
	m := &traffic{}
	for i := range sessions {
		m.req[i] = template("127.0.0.1", "127.0.0.1", uint16(40000+i), 9000, layers.IPProtocolUDP, 256, "")
		m.rep[i] = template("127.0.0.1", "127.0.0.1", 9000, uint16(40000+i), layers.IPProtocolUDP, 256, "")
	}
	for i := range bulk {
		m.data[i] = template("10.0.0.1", "10.0.0.2", uint16(50000+i), 8000, layers.IPProtocolTCP, 1448, "PA")
		m.ack[i] = template("10.0.0.2", "10.0.0.1", 8000, uint16(50000+i), layers.IPProtocolTCP, 0, "A")
	}
	m.echoReq = template("10.0.0.1", "10.0.0.3", 8, 99, layers.IPProtocolICMPv4, 56, "")
	m.echoRep = template("10.0.0.3", "10.0.0.1", 0, 99, layers.IPProtocolICMPv4, 56, "")
	m.small = template("10.0.1.1", "10.0.0.53", 1, 53, layers.IPProtocolUDP, 40, "")
	return m
}

func generate(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	c := &capWriter{w: pcapgo.NewWriterNanos(bw), ts: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), written: 24}
	if err := c.w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	m := newTraffic()
	for round := uint64(0); c.written < size; round++ {
		if err := m.round(c, round); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// round writes one round of the mix: two QoS probes with their replies, four
// bulk TCP segments, and now and then an echo pair or a new short flow.
func (m *traffic) round(c *capWriter, round uint64) error {
	if err := m.probes(c, round); err != nil {
		return err
	}
	// Four bulk TCP segments, one ACK per two.
	for k := range 4 {
		b := int(round) % bulk
		binary.BigEndian.PutUint32(m.data[b][tcpHdr+4:], m.tseq[b])
		m.tseq[b] += 1448
		if err := c.put(m.data[b]); err != nil {
			return err
		}
		if k%2 == 1 {
			binary.BigEndian.PutUint32(m.ack[b][tcpHdr+8:], m.tseq[b])
			if err := c.put(m.ack[b]); err != nil {
				return err
			}
		}
	}
	if round%100 == 0 {
		binary.BigEndian.PutUint16(m.echoReq[ethIP+20+6:], uint16(round/100))
		binary.BigEndian.PutUint16(m.echoRep[ethIP+20+6:], uint16(round/100))
		if err := c.put(m.echoReq); err != nil {
			return err
		}
		if err := c.put(m.echoRep); err != nil {
			return err
		}
	}
	if round%1000 == 0 {
		// A new short flow: source address and port from the round number.
		binary.BigEndian.PutUint16(m.small[ethIP+14:], uint16(round/1000))
		binary.BigEndian.PutUint16(m.small[ethIP+20:], uint16(1024+round/1000%60000))
		if err := c.put(m.small); err != nil {
			return err
		}
	}
	return nil
}

// probes writes two QoS probes and their replies; one reply in 200 is lost,
// one in 500 arrives after the next one.
func (m *traffic) probes(c *capWriter, round uint64) error {
	for k := range 2 {
		s := int(round*2+uint64(k)) % sessions
		seq := m.qseq[s]
		m.qseq[s]++
		h := qoswire.Header{Session: uint64(s + 1), Seq: seq, SendWall: c.ts.UnixNano(), SendMono: c.ts.UnixNano()}
		_ = h.Marshal(m.req[s][udpData:])
		if err := c.put(m.req[s]); err != nil {
			return err
		}
		if seq%200 == 7 {
			continue
		}
		h.Flags = qoswire.FlagReply
		h.ReflRecv, h.ReflSend, h.ReflCount = c.ts.UnixNano(), c.ts.UnixNano()+2000, seq+1
		_ = h.Marshal(m.rep[s][udpData:])
		if err := c.put(m.rep[s]); err != nil {
			return err
		}
	}
	return nil
}
