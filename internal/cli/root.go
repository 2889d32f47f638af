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
	root := newRootCmdFor(e, args)
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

// subcommands are socklab's commands, each built by name, so that a run
// can build only the one it dispatches to.
var subcommands = []struct {
	name  string
	build func(*env) *cobra.Command
}{
	{"serve", newServeCmd},
	{"proxy", newProxyCmd},
	{"client", newClientCmd},
	{"get", newGetCmd},
	{"qos", newQoSCmd},
	{"load", newLoadCmd},
	{"merge", newMergeCmd},
	{"monitor", newMonitorCmd},
	{"ping", newPingCmd},
	{"traceroute", newTracerouteCmd},
	{"analyze", newAnalyzeCmd},
	{"demo", newDemoCmd},
	{"version", newVersionCmd},
}

// newRootCmd builds the whole command tree, as help, completion and the
// documentation generator see it.
func newRootCmd(e *env) *cobra.Command {
	root := baseRootCmd(e)
	for _, s := range subcommands {
		root.AddCommand(s.build(e))
	}
	return finishRootCmd(root)
}

// newRootCmdFor builds the tree a run with args needs: when args dispatch
// to one of socklab's commands, the root with only that command, since
// building every other command's flags is start-up work this run does not
// use (issue 15: about 40 page faults, 2 ms on the benchmark VM, of a
// traceroute that takes 1 ms). Anything else (help, completion, no
// command, an unknown one, whose error suggests names) gets the whole tree.
func newRootCmdFor(e *env, args []string) *cobra.Command {
	root := baseRootCmd(e)
	name := dispatchedName(root, args)
	for _, s := range subcommands {
		if name == "" || s.name == name {
			root.AddCommand(s.build(e))
		}
	}
	return finishRootCmd(root)
}

// dispatchedName is the subcommand cobra will run for args, or "" when it
// is not one of subcommands. It asks cobra's own Find, over placeholders
// that carry only the names, so that the root's flags are skipped exactly
// as cobra skips them when it runs the real tree.
func dispatchedName(root *cobra.Command, args []string) string {
	stubs := make([]*cobra.Command, len(subcommands))
	for i, s := range subcommands {
		stubs[i] = &cobra.Command{Use: s.name, Run: func(*cobra.Command, []string) {}}
	}
	root.AddCommand(stubs...)
	defer root.RemoveCommand(stubs...)
	found, _, err := root.Find(args)
	if err != nil || found == root {
		return ""
	}
	return found.Name()
}

// baseRootCmd is the root command with its own flags and no subcommands.
func baseRootCmd(e *env) *cobra.Command {
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

	// Before the subcommands are found: --version is a root flag, and
	// cobra's Find must know it takes no value.
	setVersionFlag(root, e)
	return root
}

// finishRootCmd applies what every command of the tree shares.
func finishRootCmd(root *cobra.Command) *cobra.Command {
	wrapArgs(root)
	flagx.AcceptBareSeconds(root)
	return root
}
