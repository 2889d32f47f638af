// Package buildinfo owns what the Go toolchain stamped into the binary:
// the module version, the VCS revision and the Go version, as "socklab
// version" prints them and as the socklab_build_info gauge labels them.
package buildinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Info is the module version ("(devel)" for a build from a checkout), and,
// when built inside a VCS checkout, the revision, its time and whether the
// tree was modified.
type Info struct {
	Version   string
	Revision  string
	Time      string
	Modified  bool
	GoVersion string
}

// Read reads the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown", GoVersion: runtime.Version()}
	}
	return Parse(bi)
}

// Parse reduces bi to Info.
func Parse(bi *debug.BuildInfo) Info {
	b := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
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

// Write prints b the way "socklab version" shows it.
func (b Info) Write(w io.Writer) {
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

// Collector is the socklab_build_info gauge (always 1, the facts in its
// labels), the Prometheus convention for joining a build to its series.
func (b Info) Collector() prometheus.Collector {
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
