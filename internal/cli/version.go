package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

// buildInfo is what the Go toolchain stamped into the binary: the module
// version ("(devel)" for a build from a checkout), and, when built inside
// a VCS checkout, the revision, its time and whether the tree was modified.
type buildInfo struct {
	Version   string
	Revision  string
	Time      string
	Modified  bool
	GoVersion string
}

// readBuildInfo reads the running binary's build information.
func readBuildInfo() buildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return buildInfo{Version: "unknown", GoVersion: runtime.Version()}
	}
	return parseBuildInfo(bi)
}

func parseBuildInfo(bi *debug.BuildInfo) buildInfo {
	b := buildInfo{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// write prints b the way "socklab version" shows it.
func (b buildInfo) write(w io.Writer) {
	fmt.Fprintf(w, "socklab %s\n", b.Version)
	if b.Revision != "" {
		mod := ""
		if b.Modified {
			mod = " (modified)"
		}
		fmt.Fprintf(w, "  revision  %s%s\n", b.Revision, mod)
	}
	if b.Time != "" {
		fmt.Fprintf(w, "  time      %s\n", b.Time)
	}
	fmt.Fprintf(w, "  go        %s %s/%s\n", b.GoVersion, runtime.GOOS, runtime.GOARCH)
}

// collector is the socklab_build_info gauge (always 1, the facts in its
// labels), the Prometheus convention for joining a build to its series.
func (b buildInfo) collector() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "socklab_build_info",
		Help: "Always 1; labels say which socklab build is running.",
		ConstLabels: prometheus.Labels{
			"version": b.Version, "revision": b.Revision, "modified": fmt.Sprint(b.Modified), "goversion": b.GoVersion,
		},
	})
	g.Set(1)
	return g
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the module version, VCS revision and Go version (also --version)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			readBuildInfo().write(e.stdout)
			return nil
		},
	}
}

// setVersionFlag gives root a --version flag that prints what "socklab
// version" prints. Not cobra's own Version field: cobra renders it through
// text/template, and one reachable template Execute makes the linker keep
// every exported method of every type (36.9 MB against 25 MB).
func setVersionFlag(root *cobra.Command, e *env) {
	// Declared here, with no shorthand: cobra's default would take -v,
	// which means verbose to curl users.
	show := root.Flags().Bool("version", false, `print the version, as "socklab version" does`)
	help := root.RunE
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if *show {
			readBuildInfo().write(e.stdout)
			return nil
		}
		return help(cmd, args)
	}
}
