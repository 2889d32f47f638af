package cli

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeAddressInUse(t *testing.T) {
	for _, proto := range []string{"http", "udp"} {
		t.Run(proto, func(t *testing.T) {
			// The busy address stays bound by the test; the other is :0.
			httpAddr, udpAddr := "127.0.0.1:0", "127.0.0.1:0"
			var busy string
			if proto == "http" {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				busy, httpAddr = ln.Addr().String(), ln.Addr().String()
			} else {
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				busy, udpAddr = pc.LocalAddr().String(), pc.LocalAddr().String()
			}
			code, _, stderr := run(t, "", "serve", "--http", httpAddr, "--udp", udpAddr)
			if code != ExitFailure {
				t.Fatalf("exit %d, want 1", code)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, busy) || !strings.Contains(last, "address already in use") {
				t.Fatalf("error %q does not name %s", last, busy)
			}
		})
	}
}

func TestServeBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--tls-cert", "x.pem"},
		{"serve", "--max-conns", "0"},
		{"serve", "--udp-max-pps", "0"},
		{"serve", "--grace", "0s"},
		{"serve", "dir", "extra-arg"},
		{"serve", "--http", "nonsense"},
		{"serve", "--udp", "nonsense"},
		{"serve", "70000"},
		{"serve", "8000", "--http", "127.0.0.1:8001"},
		{"serve", "dir", "--root", "other"},
		{"proxy", "--http", "nonsense"},
	} {
		if code, _, stderr := run(t, "", args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
	if code, _, stderr := run(t, "", "serve", "--root", filepath.Join(t.TempDir(), "missing"), "--http", "127.0.0.1:0", "--udp", "127.0.0.1:0"); code != ExitFailure || !strings.Contains(stderr, "missing") {
		t.Errorf("missing root: exit %d, %q", code, stderr)
	}
}

// TestServeRuns starts the command, uses both services, then cancels it
// like SIGINT would and expects exit 0 with the access log written.
func TestServeRuns(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "hi.txt"), []byte("hi there"), 0o644)
	logFile := filepath.Join(t.TempDir(), "access.log")
	cmd := startCmd(t, []string{"serve http", "serve udp"},
		"serve", "--http", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--root", root, "--access-log", logFile)
	httpAddr, udpAddr := cmd.addrs["serve http"], cmd.addrs["serve udp"]
	client := &http.Client{Timeout: cmdTimeout}
	resp, err := client.Get("http://" + httpAddr + "/hi.txt")
	if err != nil {
		t.Fatalf("serve did not answer: %v; stderr %s", err, cmd.stderr.String())
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hi there" {
		t.Fatalf("body %q", b)
	}
	c, err := net.Dial("udp", udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "ping")
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("udp echo: %q %v", buf[:n], err)
	}
	if code := cmd.stop(t); code != ExitOK {
		t.Fatalf("exit %d after cancel, want 0; stderr %s", code, cmd.stderr.String())
	}
	logged, _ := os.ReadFile(logFile)
	if !strings.Contains(string(logged), `"GET /hi.txt HTTP/1.1" 200 8`) {
		t.Fatalf("access log %q", logged)
	}
}
