// Command socklab is a small network lab in one binary: a web server with a
// UDP reflector, an HTTP caching proxy with an impairing UDP relay, a QoS
// tester, a load generator, ping, traceroute and a capture analyzer.
//
// main only wires the process to the cli package: signals, arguments and the
// exit code. Everything else lives under internal/.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/socklab/socklab/internal/cli"
)

func main() {
	// The first SIGINT/SIGTERM cancels ctx so long-running commands drain and
	// print their summary; the second exits at once, as the shell's own
	// convention has it (128 + signal number). Handling it here, rather than
	// restoring the default action, also works when the shell started us
	// with SIGINT ignored (a background job in a script).
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
		s := <-sigs
		code := 128 + int(syscall.SIGINT)
		if s == syscall.SIGTERM {
			code = 128 + int(syscall.SIGTERM)
		}
		os.Exit(code)
	}()
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}
