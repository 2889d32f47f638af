//go:build linux

package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/qos"
)

// bindTwice returns the error of binding an already bound socket: a real
// EINVAL from the kernel, whose text is "invalid argument" — the words
// cobra uses for a bad flag value.
func bindTwice(t *testing.T) error {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var bindErr error
	if err := rc.Control(func(fd uintptr) {
		bindErr = syscall.Bind(int(fd), &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(bindErr, syscall.EINVAL) {
		t.Skipf("binding a bound socket gave %v, not EINVAL, on this platform", bindErr)
	}
	return &net.OpError{Op: "listen", Net: "udp", Err: os.NewSyscallError("bind", bindErr)}
}

// TestExitCodeByKind: the exit status follows the error's kind, never its
// text. A runtime EINVAL says "invalid argument" and still exits 1.
func TestExitCodeByKind(t *testing.T) {
	einval := bindTwice(t)
	if !strings.Contains(einval.Error(), "invalid argument") {
		t.Fatalf("EINVAL reads %q; the test needs the words cobra also uses", einval)
	}
	_, qosErr := qos.New(qos.Config{Size: 1})
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"runtime EINVAL", fmt.Errorf("serve: %w", einval), ExitFailure},
		{"plain runtime error", errors.New("connection refused"), ExitFailure},
		{"engine refused its config", qosErr, ExitUsage},
		{"wrapped invalid config", fmt.Errorf("proxy: %w", errs.Invalidf("bad")), ExitUsage},
		{"usage error", usageErrf("--x: bad"), ExitUsage},
		{"silent exit", silentExit(ExitFailure), ExitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}
