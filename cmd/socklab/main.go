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
	// print their summary; stop() then restores the default handlers, so a
	// second signal kills the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
