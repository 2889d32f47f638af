package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/cli"
)

// TestDocsUpToDate fails when a command's flags or help text changed
// without regenerating docs/ (go generate ./...): it runs the generator
// into a temporary folder and compares every file with the committed one.
func TestDocsUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := generate(cli.Command(), dir); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "docs")
	var n int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		name, _ := filepath.Rel(dir, path)
		want, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Errorf("docs/%s missing: run go generate ./...", name)
			return nil
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
			t.Errorf("docs/%s is stale: run go generate ./...", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"cli", "man"} {
		gen, _ := os.ReadDir(filepath.Join(dir, sub))
		have, _ := os.ReadDir(filepath.Join(committed, sub))
		if len(gen) != len(have) {
			t.Errorf("docs/%s has %d files, the commands make %d: run go generate ./...", sub, len(have), len(gen))
		}
	}
	if n < 20 {
		t.Fatalf("the generator wrote %d files; expected pages for every command", n)
	}
	// The scripts ask the binary (socklab __complete) for candidates, so
	// they name the program, not its commands.
	for file, want := range map[string]string{"socklab.bash": "__start_socklab", "socklab.zsh": "compdef _socklab socklab", "socklab.fish": "complete -c socklab"} {
		b, _ := os.ReadFile(filepath.Join(dir, "completions", file))
		if !strings.Contains(string(b), want) {
			t.Errorf("completions/%s lacks %q", file, want)
		}
	}
}
