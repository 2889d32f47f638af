package cli

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startMain runs socklab with args in the background; stop cancels it like
// SIGINT and returns the exit code.
func startMain(t *testing.T, args ...string) (stderr *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	stderr = &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, args, strings.NewReader(""), &out, stderr) }()
	stopped := false
	var code int
	stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			select {
			case code = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("%v did not stop", args)
			}
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return stderr, stop
}

// freeTCPAddr returns a loopback address free a moment ago: "socklab serve
// PORT" takes a port on the command line, so it cannot be ":0".
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// getUntil fetches url until it answers (the listener may not be up yet),
// for at most 5 s.
func getUntil(t *testing.T, url string, stderr *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered: %v\n%s", url, err, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServePositional: "socklab serve DIR" and "socklab serve PORT", as
// python3 -m http.server takes them; --udp off.
func TestServePositional(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "hi.txt"), []byte("hi there"), 0o644); err != nil {
		t.Fatal(err)
	}
	httpAddr := freeTCPAddr(t)
	stderr, stop := startMain(t, "serve", root, "--http", httpAddr, "--udp", "off")
	if got := getUntil(t, "http://"+httpAddr+"/hi.txt", stderr); got != "hi there" {
		t.Fatalf("serve DIR: %q", got)
	}
	if code := stop(); code != ExitOK || strings.Contains(stderr.String(), "udp echo listening") {
		t.Fatalf("exit %d; --udp off still listened?\n%s", code, stderr.String())
	}

	_, port, _ := net.SplitHostPort(httpAddr)
	stderr, stop = startMain(t, "serve", port, "--udp", "")
	if got := getUntil(t, "http://127.0.0.1:"+port+"/", stderr); !strings.Contains(got, "socklab") {
		t.Fatalf("serve PORT: the embedded site? %q", got)
	}
	if code := stop(); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
}

// TestProxyOff: "off" disables the proxy's relay, upstream and side
// listeners as "" does.
func TestProxyOff(t *testing.T) {
	httpAddr := freeTCPAddr(t)
	stderr, stop := startMain(t, "proxy", "--http", httpAddr, "--udp", "off", "--upstream", "off", "--metrics", "off", "--admin", "off")
	getUntil(t, "http://"+httpAddr+"/", stderr)
	if code := stop(); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	log := stderr.String()
	if !strings.Contains(log, "forward proxy only") || strings.Contains(log, "udp relay listening") || strings.Contains(log, "metrics listening") {
		t.Fatalf("off not honoured:\n%s", log)
	}
}

func TestFlagErrorsSayWhatIsWanted(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--seed", "-1"}, `--seed "-1": want a whole number, 0 or more`},
		{[]string{"load", "-c", "many", "http://127.0.0.1:1/"}, `--clients "many": want a whole number`},
		{[]string{"qos", "-t", "soon"}, `--duration: duration "soon": want seconds`},
	} {
		code, _, stderr := run(t, "", tt.args...)
		if code != ExitUsage || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "strconv") {
			t.Errorf("%v: exit %d %q, want %q", tt.args, code, stderr, tt.want)
		}
	}
}
