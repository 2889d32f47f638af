package stream

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/impair"
)

// impairedListener wraps every accepted connection, as the proxy does.
type impairedListener struct {
	net.Listener
	cfg impair.Config
}

func (l impairedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c, l.cfg), nil
}

// echoServer echoes every accepted (impaired) connection.
func echoServer(t *testing.T, cfg impair.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	il := impairedListener{ln, cfg}
	go func() {
		for {
			c, err := il.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

func TestUnimpairedIsUnwrapped(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if Wrap(a, impair.Config{Loss: 0.5, Corrupt: 1}) != a {
		t.Fatal("loss and corrupt alone wrapped a stream")
	}
}

// A delay both ways adds at least twice the delay to each round trip, and
// keeps the bytes intact and in order.
func TestDelayAddsRTT(t *testing.T) {
	const delay = 15 * time.Millisecond
	addr := echoServer(t, impair.Config{Delay: delay, Jitter: 5 * time.Millisecond, Seed: 1})
	c := dial(t, addr)
	buf := make([]byte, 64)
	for i := range 5 {
		msg := []byte(strings.Repeat(string(rune('a'+i)), 40))
		start := time.Now()
		c.Write(msg)
		if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
		rtt := time.Since(start)
		if string(buf[:len(msg)]) != string(msg) {
			t.Fatalf("echo %q, want %q", buf[:len(msg)], msg)
		}
		// Jitter ±5 ms on a 15 ms delay: at least 10 ms each way.
		if rtt < 2*(delay-5*time.Millisecond) {
			t.Fatalf("round trip %v, want at least %v", rtt, 2*(delay-5*time.Millisecond))
		}
	}
}

// The rate limits a bulk transfer. Bounds are loose (a loaded machine);
// the 5% precision is checked on the policy.
func TestRateLimitsThroughput(t *testing.T) {
	const rate = 4e6 // 500 kB/s
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const size = 300_000
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		w := Wrap(c, impair.Config{Rate: rate, Direction: impair.Down})
		w.Write(make([]byte, size))
		w.Close() // flushes first
	}()
	c := dial(t, ln.Addr().String())
	start := time.Now()
	n, err := io.Copy(io.Discard, c)
	if err != nil || n != size {
		t.Fatalf("read %d bytes, %v; want %d", n, err, size)
	}
	got := float64(n) * 8 / time.Since(start).Seconds()
	if got > rate*1.05 || got < rate*0.25 { // above: impossible; below: a very busy machine
		t.Fatalf("throughput %.0f bit/s, want about %.0f", got, rate)
	}
}

// net/http aborts a background read by setting a past read deadline; the
// wrapper must return at once, so HTTP through it works, slowed by the delay.
func TestHTTPThroughWrapper(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	})}
	go srv.Serve(impairedListener{ln, impair.Config{Delay: 10 * time.Millisecond}})
	defer srv.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/a", "/b", "/c"} {
		start := time.Now()
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hello "+path {
			t.Fatalf("body %q", body)
		}
		if rtt := time.Since(start); rtt < 20*time.Millisecond {
			t.Fatalf("request took %v, want at least 2×10 ms", rtt)
		}
	}
}

func TestReadDeadline(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := Wrap(a, impair.Config{Delay: time.Hour})
	defer c.Close()
	go b.Write([]byte("held for an hour"))
	done := make(chan error)
	go func() {
		_, err := c.Read(make([]byte, 10))
		done <- err
	}()
	c.SetReadDeadline(time.Now().Add(-time.Second)) // what net/http does
	if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want deadline exceeded", err)
	}
	var ne net.Error
	c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
	if _, err := c.Read(make([]byte, 10)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read = %v, want a timeout", err)
	}
}

// Close sends what was written before closing, after its delay, and then
// the peer sees EOF.
func TestCloseFlushes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		w := Wrap(c, impair.Config{Delay: 20 * time.Millisecond})
		w.Write([]byte("bye"))
		w.Close()
	}()
	c := dial(t, ln.Addr().String())
	got, err := io.ReadAll(bufio.NewReader(c))
	if err != nil || string(got) != "bye" {
		t.Fatalf("got %q, %v; want bye then EOF", got, err)
	}
}

func TestHalfClose(t *testing.T) {
	addr := echoServer(t, impair.Config{Delay: 5 * time.Millisecond})
	c := dial(t, addr)
	c.Write([]byte("half"))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "half" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// CloseWrite on the wrapper half-closes after the queued bytes: the peer
// reads them then EOF, and can still send.
func TestWrapperCloseWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		w := Wrap(c, impair.Config{Delay: 5 * time.Millisecond})
		defer w.Close()
		w.Write([]byte("first"))
		w.(interface{ CloseWrite() error }).CloseWrite()
		b, _ := io.ReadAll(w)
		got <- string(b)
	}()
	c := dial(t, ln.Addr().String())
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "first" {
		t.Fatalf("read %q, %v; want first then EOF", b, err)
	}
	c.Write([]byte("reply"))
	c.(*net.TCPConn).CloseWrite()
	if s := <-got; s != "reply" {
		t.Fatalf("server read %q after its half-close", s)
	}
}
