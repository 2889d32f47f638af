package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/flagx"
	"go.yaml.in/yaml/v3"
)

// k8sJob is the part of a Job manifest the check below reads.
type k8sJob struct {
	Kind     string
	Metadata struct{ Name string }
	Spec     struct {
		CompletionMode string `yaml:"completionMode"`
		Template       struct {
			Spec struct {
				Containers []struct {
					Image string
					Args  []string
					Env   []struct{ Name, Value string }
				}
			}
		}
	}
}

// TestDeployManifestsUseRealFlags reads every Job under deploy/k8s and runs
// each container's args through socklab's own flag parser, with Kubernetes'
// $(VAR) expansion done as the kubelet does it: a renamed or removed flag
// breaks this test, not a user's cluster.
func TestDeployManifestsUseRealFlags(t *testing.T) {
	files, err := filepath.Glob("../../deploy/k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests under deploy/k8s: %v", err)
	}
	jobs := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var job k8sJob
		if err := yaml.Unmarshal(b, &job); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if job.Kind != "Job" {
			continue
		}
		jobs++
		for _, c := range job.Spec.Template.Spec.Containers {
			if !strings.HasPrefix(c.Image, "socklab") {
				t.Errorf("%s: image %q is not the one the Dockerfile builds", f, c.Image)
			}
			env := map[string]string{"JOB_COMPLETION_INDEX": "3"}
			for _, e := range c.Env {
				env[e.Name] = strings.ReplaceAll(e.Value, "__START_AT__", time.Now().UTC().Format(time.RFC3339))
			}
			args := expandK8s(c.Args, env)
			checkArgs(t, f, args)
		}
	}
	if jobs < 2 {
		t.Fatalf("found %d Jobs under deploy/k8s, want the load and the merge job", jobs)
	}
}

var k8sVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func expandK8s(args []string, env map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = k8sVar.ReplaceAllStringFunc(a, func(m string) string {
			if v, ok := env[m[2:len(m)-1]]; ok {
				return v
			}
			return m // Kubernetes leaves an unknown reference as is
		})
	}
	return out
}

// checkArgs parses args with the real command tree and checks the values
// that would fail only at run time.
func checkArgs(t *testing.T, file string, args []string) {
	t.Helper()
	root := newRootCmd(&env{})
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root {
		t.Errorf("%s: args %q name no socklab command: %v", file, args, err)
		return
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Errorf("%s: %s %q: %v", file, cmd.Name(), rest, err)
		return
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		t.Errorf("%s: %s: %v", file, cmd.Name(), err)
	}
	if f := cmd.Flags().Lookup("start-at"); f != nil {
		if _, err := flagx.StartAt(f.Value.String(), time.Now()); err != nil {
			t.Errorf("%s: --start-at: %v", file, err)
		}
	}
	for _, a := range cmd.Flags().Args() {
		if strings.Contains(a, "$(") {
			t.Errorf("%s: %q keeps an unexpanded reference", file, a)
		}
	}
	if f := cmd.Flags().Lookup("out"); f != nil && cmd.Name() == "load" && !strings.Contains(f.Value.String(), "gen-3") {
		t.Errorf("%s: --out %q does not vary with the completion index", file, f.Value.String())
	}
}
