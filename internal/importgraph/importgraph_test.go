package importgraph

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/socklab/socklab/"

// The layers, by package path under the module. A package's subpackages
// belong to it (proxy/redisstore is part of the proxy engine).
var (
	pure = []string{
		"internal/stats", "internal/pace", "internal/qoswire", "internal/httpcache",
		"internal/capture", "internal/impair", "internal/units", "internal/icmp/probe",
		"internal/errs", "internal/httpframe",
	}
	// adapters put a pure policy in front of real traffic (impairment on
	// datagrams and streams, framing checks and a connection cap on a
	// listener); engines may use them, they use no engine.
	adapters = []string{"internal/impair/sched", "internal/impair/stream", "internal/httpframe/guard", "internal/connlimit"}
	engines  = []string{
		"internal/webserver", "internal/udpecho", "internal/proxy", "internal/udprelay",
		"internal/qos", "internal/icmp", "internal/load", "internal/menu",
	}
	// composers build what several engines make together from the
	// engines' configs (the serve and proxy stacks, the demo, the client
	// menu's actions), for cli;
	// output puts results in files and on the terminal. They never see a
	// flag, and no engine imports them.
	composers = []string{"internal/stack", "internal/demo", "internal/clientmenu", "internal/output"}
	// sockets are the standard and x/ packages that open sockets or make
	// system calls; the pure layer imports none of them directly.
	sockets = []string{
		"net", "net/http", "syscall", "os", "os/exec",
		"golang.org/x/sys/unix", "golang.org/x/net/ipv4", "golang.org/x/net/ipv6",
		"golang.org/x/net/icmp", "golang.org/x/net/bpf",
	}
)

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// rel is p's path inside the module, "" for packages outside it.
func rel(p string) string {
	r, ok := strings.CutPrefix(p, mod)
	if !ok {
		return ""
	}
	return r
}

// within reports whether p is one of roots or below one of them, and
// which root; the longest root wins (icmp/probe is pure, icmp an engine).
func within(p string, roots ...[]string) (string, bool) {
	best := ""
	for _, rs := range roots {
		for _, r := range rs {
			if (p == r || strings.HasPrefix(p, r+"/")) && len(r) > len(best) {
				best = r
			}
		}
	}
	return best, best != ""
}

func layerOf(p string) string {
	root, _ := within(p, pure, adapters, engines)
	switch {
	case slices.Contains(pure, root):
		return "pure"
	case slices.Contains(adapters, root):
		return "adapter"
	case slices.Contains(engines, root):
		return "engine"
	}
	return ""
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", "-deps=false", "../../...")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; the pattern missed the module", len(pkgs))
	}
	return pkgs
}

// TestImportGraph checks every package of the module against the rules
// below. It replaces the TestNoNetImport each pure package used to copy.
func TestImportGraph(t *testing.T) {
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		me := rel(p.ImportPath)
		if me == "" {
			continue
		}
		seen[layerOf(me)] = true
		for _, r := range rules {
			if !r.applies(me) {
				continue
			}
			for _, dep := range r.imports(p) {
				if msg := r.refuse(me, dep); msg != "" {
					t.Errorf("%s imports %s: %s", me, dep, msg)
				}
			}
		}
	}
	for _, l := range []string{"pure", "adapter", "engine"} {
		if !seen[l] {
			t.Errorf("no %s package found: the layer table is stale", l)
		}
	}
}

// rule is one row of the table: which packages, which of their imports
// (direct or all), and why an import is refused ("" allows it).
type rule struct {
	name       string
	applies    func(me string) bool
	transitive bool
	refuse     func(me, dep string) string
}

func (r rule) imports(p pkg) []string {
	if r.transitive {
		return p.Deps
	}
	return p.Imports
}

func inLayer(l string) func(string) bool { return func(me string) bool { return layerOf(me) == l } }

var rules = []rule{
	{
		name: "the pure layer opens no sockets and makes no system calls", applies: inLayer("pure"),
		refuse: func(_, dep string) string {
			if slices.Contains(sockets, dep) {
				return "the pure layer opens no sockets (time and data are passed in)"
			}
			return ""
		},
	},
	{
		name: "the pure layer uses no engine, adapter, report or cli", applies: inLayer("pure"), transitive: true,
		refuse: func(_, dep string) string {
			if d := rel(dep); d != "" && layerOf(d) != "pure" {
				return "the pure layer imports only the pure layer"
			}
			return ""
		},
	},
	{
		name: "adapters use no engine and no other adapter", applies: inLayer("adapter"), transitive: true,
		refuse: func(me, dep string) string {
			d := rel(dep)
			if d == "" {
				return ""
			}
			if l := layerOf(d); l == "engine" || (l == "adapter" && !sameRoot(me, d)) || l == "" {
				return "an adapter imports only the pure layer"
			}
			return ""
		},
	},
	{
		name: "engines import no other engine", applies: inLayer("engine"), transitive: true,
		refuse: func(me, dep string) string {
			d := rel(dep)
			if d == "" {
				return ""
			}
			switch layerOf(d) {
			case "engine":
				if !sameRoot(me, d) {
					return "engines do not import each other (cli composes them)"
				}
			case "":
				return "engines import only adapters and the pure layer"
			}
			return ""
		},
	},
	{
		name: "composers take engine configs, not flags", applies: func(me string) bool { _, ok := within(me, composers); return ok }, transitive: true,
		refuse: func(_, dep string) string {
			if d := rel(dep); d == "internal/cli" || strings.HasPrefix(d, "cmd/") {
				return "composers are used by cli, never the other way round"
			}
			if dep == "github.com/spf13/cobra" || dep == "github.com/spf13/pflag" {
				return "composers take engine configs; flags are cli's"
			}
			return ""
		},
	},
	{
		name: "cmd/socklab only wires the cli", applies: func(me string) bool { return strings.HasPrefix(me, "cmd/") },
		refuse: func(_, dep string) string {
			if d := rel(dep); d != "" && d != "internal/cli" {
				return "main imports only internal/cli"
			}
			return ""
		},
	},
	{
		name: "test-support packages end in test and only tests import them", applies: func(string) bool { return true },
		refuse: func(me, dep string) string {
			if dep == "testing" && !strings.HasSuffix(me, "test") {
				return "a package that imports testing is test support: name it …test"
			}
			return ""
		},
	},
	{
		// report renders result types; the socket-free result packages
		// (qos/qosresult, icmp/icmpresult, load/loadresult) sit under their
		// engines but import nothing of them.
		name: "report imports only the pure layer and result types, and no HTTP stack", applies: func(me string) bool { return me == "internal/report" }, transitive: true,
		refuse: func(_, dep string) string {
			if d := rel(dep); d != "" && layerOf(d) != "pure" && !strings.HasSuffix(d, "result") {
				return "report renders result types; it imports only the pure layer"
			}
			if dep == "net/http" {
				return "report writes to an io.Writer; it speaks no HTTP"
			}
			return ""
		},
	},
}

func sameRoot(a, b string) bool {
	ra, _ := within(a, pure, adapters, engines)
	rb, _ := within(b, pure, adapters, engines)
	return ra == rb
}

// TestRulesRefuse: each row refuses what it is there to refuse, so the
// graph test cannot pass by matching nothing.
func TestRulesRefuse(t *testing.T) {
	tests := []struct{ me, dep string }{
		{"internal/stats", "net"},
		{"internal/impair", "os"},
		{"internal/capture", mod + "internal/qos"},
		{"internal/icmp/probe", mod + "internal/icmp"},
		{"internal/qos", mod + "internal/proxy"},
		{"internal/udprelay", mod + "internal/cli"},
		{"internal/impair/sched", mod + "internal/udprelay"},
		{"cmd/socklab", mod + "internal/qos"},
		{"internal/netns", "testing"},
		{"internal/stack", mod + "internal/cli"},
		{"internal/demo", "github.com/spf13/pflag"},
		{"internal/proxy", mod + "internal/stack"},
	}
	for _, tt := range tests {
		refused := false
		for _, r := range rules {
			if r.applies(tt.me) && r.refuse(tt.me, tt.dep) != "" {
				refused = true
			}
		}
		if !refused {
			t.Errorf("%s importing %s passes every rule", tt.me, tt.dep)
		}
	}
	for _, ok := range []struct{ me, dep string }{
		{"internal/proxy", mod + "internal/proxy/redisstore"},
		{"internal/udprelay", mod + "internal/impair/sched"},
		{"internal/icmp", mod + "internal/icmp/probe"},
		{"internal/capture", "net/netip"},
		{"internal/stack", mod + "internal/proxy"},
		{"internal/demo", mod + "internal/stack"},
	} {
		for _, r := range rules {
			if r.applies(ok.me) {
				if msg := r.refuse(ok.me, ok.dep); msg != "" {
					t.Errorf("%s importing %s refused: %s", ok.me, ok.dep, msg)
				}
			}
		}
	}
}
