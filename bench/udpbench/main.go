// Command udpbench is the load side of bench/relay.sh: an echo server and a
// paced sender that counts its echoes, to find the highest rate a UDP relay
// carries without loss. Loopback only: it refuses other addresses.
//
//	udpbench echo -listen 127.0.0.1:9300
//	udpbench send -target 127.0.0.1:9301 -rate 100000 -size 64 -duration 2s
//
// On Linux the echo server and the sender's receiver move up to 64
// datagrams per recvmmsg/sendmmsg (io_linux.go); the sender sends one per
// call.
//
// send prints one line: "rate=100000 sent=200000 received=200000 lost=0
// reordered=0 loss_pct=0.000 send_errors=0".
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: udpbench echo|send [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "echo":
		err = echo(os.Args[2:])
	case "send":
		err = send(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpbench:", err)
		os.Exit(1)
	}
}

func loopback(addr string) (*net.UDPAddr, error) {
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	if !a.IP.IsLoopback() {
		return nil, fmt.Errorf("%s: loopback addresses only", addr)
	}
	return a, nil
}

func echo(args []string) error {
	fs := flag.NewFlagSet("echo", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:9300", "address to echo on")
	fs.Parse(args)
	a, err := loopback(*listen)
	if err != nil {
		return err
	}
	c, err := net.ListenUDP("udp", a)
	if err != nil {
		return err
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	// serveEcho returns only on an error; a closed socket is the normal end.
	if err := serveEcho(c); !isClosed(err) {
		return err
	}
	return nil
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readRepliesPlain is readReplies one datagram per call.
func readRepliesPlain(c *net.UDPConn, quiet time.Duration, each func(p []byte)) {
	buf := make([]byte, 65536)
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		if err != nil {
			if isTimeout(err) || isClosed(err) {
				return
			}
			continue // ECONNREFUSED while the relay warms up
		}
		each(buf[:n])
	}
}

func send(args []string) error {
	fs := flag.NewFlagSet("send", flag.ExitOnError)
	target := fs.String("target", "127.0.0.1:9301", "relay (or echo) address")
	rate := fs.Int("rate", 100000, "datagrams per second")
	size := fs.Int("size", 64, "datagram size in bytes (at least 8)")
	dur := fs.Duration("duration", 2*time.Second, "how long to send (at most 30s)")
	fs.Parse(args)
	a, err := loopback(*target)
	if err != nil {
		return err
	}
	if *size < 8 || *rate <= 0 || *dur <= 0 || *dur > 30*time.Second {
		return errors.New("want -size ≥ 8, -rate > 0, 0 < -duration ≤ 30s")
	}
	c, err := net.DialUDP("udp", nil, a)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	total := int(float64(*rate) * dur.Seconds())
	seen := make([]bool, total)
	type result struct{ received, reordered int }
	done := make(chan result)
	go func() {
		var r result
		maxSeq := -1
		readReplies(c, 500*time.Millisecond, func(p []byte) {
			if len(p) < 8 {
				return
			}
			seq := int(binary.BigEndian.Uint64(p))
			if seq < 0 || seq >= total || seen[seq] {
				return
			}
			seen[seq] = true
			r.received++
			if seq < maxSeq {
				r.reordered++
			}
			maxSeq = max(maxSeq, seq)
		})
		done <- r
	}()
	p := make([]byte, *size)
	sendErrs := 0
	start := time.Now()
	interval := time.Second / time.Duration(*rate)
	for i := 0; i < total; {
		// Send everything due by now, then sleep a little: pacing in small
		// bursts keeps the average exact without a syscall per sleep.
		due := int(time.Since(start)/interval) + 1
		for ; i < total && i < due; i++ {
			binary.BigEndian.PutUint64(p, uint64(i))
			if _, err := c.Write(p); err != nil {
				sendErrs++
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	r := <-done
	lost := total - r.received
	fmt.Printf("rate=%d sent=%d received=%d lost=%d reordered=%d loss_pct=%.3f send_errors=%d\n",
		*rate, total, r.received, lost, r.reordered, 100*float64(lost)/float64(total), sendErrs)
	return nil
}
