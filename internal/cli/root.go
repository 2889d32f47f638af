// Package cli is socklab's command-line surface: one file per subcommand,
// each turning flags into an engine Config, running it (alone, or through
// the stack, demo and clientmenu composers) and handing the result to
// report. It is the only package that defines flags, writes to stdout and
// picks exit codes; flagx holds its flag types, output its files.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/socklab/socklab/internal/flagx"
	"github.com/spf13/cobra"
)

// Exit codes shared by every command.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // runtime failure (or, for ping, no reply)
	ExitUsage   = 2 // bad flags or arguments
)

// env is what every subcommand gets from the root: the streams and the
// global flags. Commands read from env, never from os.Std*.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    logOptions
}

// Main runs socklab with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err == nil {
			return code
		}
		err = ee.err
	}
	fmt.Fprintf(stderr, "socklab: %v\n", err)
	if code == ExitUsage && cmd != nil {
		// Cobra's argument errors do not say which command they belong to.
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "socklab",
		Short: "A network lab in one binary: serve, proxy, measure",
		Long: `socklab stands up and measures a real network path on one machine or across hosts:

  client / qos / load ──TCP 8080──▶ proxy ──TCP 8000──▶ serve (HTTP files)
                      ──UDP 9090──▶ proxy ──UDP 9000──▶ serve (UDP echo / QoS reflector)

Run "socklab demo" to see the whole system at work in one command.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return e.log.validate()
		},
		// Runnable, so that an unknown subcommand reaches rootArgs (a
		// usage error) instead of cobra's plain error.
		Args: rootArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.PersistentFlags().StringVar(&e.log.format, "log-format", "text", "log format: text or json")
	root.PersistentFlags().StringVar(&e.log.level, "log-level", "info", "log level: debug, info, warn or error")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(flagx.PlainError(err)) })

	root.AddCommand(
		newServeCmd(e),
		newProxyCmd(e),
		newClientCmd(e),
		newGetCmd(e),
		newQoSCmd(e),
		newLoadCmd(e),
		newMergeCmd(e),
		newMonitorCmd(e),
		newPingCmd(e),
		newTracerouteCmd(e),
		newAnalyzeCmd(e),
		newDemoCmd(e),
		newVersionCmd(e),
	)
	wrapArgs(root)
	setVersionFlag(root, e)
	flagx.AcceptBareSeconds(root)
	return root
}
