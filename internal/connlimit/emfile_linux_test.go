package connlimit

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestAcceptAtEMFILE (run in a child process: it lowers RLIMIT_NOFILE):
// out of descriptors at the cap, accept sheds the longest waiter to free
// one and goes on, instead of failing or spinning; with no room, accept
// fails with EMFILE (a temporary error, on which servers back off) and the
// connection stays queued until a descriptor frees.
func TestAcceptAtEMFILE(t *testing.T) {
	if os.Getenv("CONNLIMIT_EMFILE_CHILD") != "" {
		emfileChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptAtEMFILE$", "-test.v", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), "CONNLIMIT_EMFILE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func emfileChild(t *testing.T) {
	for _, tc := range []struct {
		name    string
		waiting int
	}{{"room", 16}, {"no room", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			var lim syscall.Rlimit
			if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
				t.Fatal(err)
			}
			defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			l := New(Config{Max: 1, MaxWaiting: tc.waiting})
			ln := l.Listen(raw)
			defer ln.Close()
			addr := raw.Addr().String()
			dialSend(t, addr, partialHead)
			acceptWithin(t, ln, 5*time.Second) // the cap is full
			const clients = 8
			for range clients {
				dialSend(t, addr, partialHead)
			}
			// Descriptors left: one for the duplicate listener, then two
			// for waiters (none without a room).
			low := lim
			low.Cur = uint64(plugHoles(t) + 1 + max(0, min(2, tc.waiting)))
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if c != nil {
					c.Close()
				}
				errc <- err
			}()
			if tc.waiting > 0 {
				eventually(t, 5*time.Second, "not every client accepted", func() bool { return l.accepts.Load() == 1+clients })
				st := l.Stats()
				if st.Shed == 0 || st.Waiting == 0 || int(st.Shed)+int(st.Waiting) != clients {
					t.Fatalf("stats %+v: want waiters shed to make descriptors for the rest", st)
				}
				select {
				case err := <-errc:
					t.Fatalf("Accept returned %v out of descriptors, want it waiting", err)
				case <-time.After(100 * time.Millisecond):
				}
				return
			}
			select {
			case err := <-errc:
				var se *os.SyscallError
				if !errors.As(err, &se) || !errors.Is(err, syscall.EMFILE) {
					t.Fatalf("Accept: %v, want EMFILE", err)
				}
				var te interface{ Temporary() bool }
				if !errors.As(err, &te) || !te.Temporary() {
					t.Fatalf("Accept: %v is not temporary: servers would stop instead of backing off", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("Accept neither failed nor returned out of descriptors; stats %+v, %d accepts", l.Stats(), l.accepts.Load())
			}
			if n := l.accepts.Load(); n >= 1+clients {
				t.Fatalf("%d accepts, want the clients past the limit left queued", n)
			}
		})
	}
}

// plugHoles fills every free descriptor number below the highest open one
// (until the test ends) and returns the lowest free number: a new
// descriptor takes the lowest free number, and RLIMIT_NOFILE bounds the
// number, not the count.
func plugHoles(t *testing.T) int {
	t.Helper()
	high := highestFD(t)
	for range 1 << 16 {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if fd > high {
			syscall.Close(fd)
			return fd
		}
		t.Cleanup(func() { syscall.Close(fd) })
	}
	t.Fatal("no end to the descriptor holes")
	return 0
}

// highestFD is the highest open descriptor number (the directory's own
// descriptor included).
func highestFD(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	high := -1
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > high {
			high = n
		}
	}
	return high
}
