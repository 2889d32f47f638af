// Command cmdtime is the timing side of bench/trace.sh: it runs each command
// -n times, the commands taking turns so that a busy machine's drift hits
// them alike, and prints the median wall time and the median CPU time
// (user + system, from wait4's rusage: the command and every child it
// waited for) of each. Medians, not means: on a shared machine a few runs
// wait for a CPU far longer than the rest.
//
//	cmdtime -n 50 'socklab version' 'traceroute --version'
//
// Each argument is one command line, split on blanks (no shell quoting).
// It prints one line per command: "wall_ms=1.234 cpu_ms=0.987 cmd=...".
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 50, "runs per command")
	flag.Parse()
	if flag.NArg() == 0 || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: cmdtime [-n runs] 'command args' ...")
		os.Exit(2)
	}
	cmds := flag.Args()
	wall := make([][]time.Duration, len(cmds))
	cpu := make([][]time.Duration, len(cmds))
	for range *n {
		for i, line := range cmds {
			w, c, err := run(strings.Fields(line))
			if err != nil {
				fmt.Fprintf(os.Stderr, "cmdtime: %s: %v\n", line, err)
				os.Exit(1)
			}
			wall[i] = append(wall[i], w)
			cpu[i] = append(cpu[i], c)
		}
	}
	for i, line := range cmds {
		fmt.Printf("wall_ms=%.3f cpu_ms=%.3f cmd=%s\n", ms(median(wall[i])), ms(median(cpu[i])), line)
	}
}

// run runs one command with its output discarded.
func run(argv []string) (wall, cpu time.Duration, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, err
	}
	wall = time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	}
	return wall, cpu, nil
}

func median(v []time.Duration) time.Duration {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
