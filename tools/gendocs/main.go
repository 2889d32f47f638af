// Command gendocs writes socklab's documentation from its cobra commands,
// the same definitions --help prints, so pages and help cannot drift:
//
//	DIR/cli/*.md              the Markdown command reference
//	DIR/man/*.1               man pages
//	DIR/completions/socklab.{bash,zsh,fish}
//
// It runs from "go generate ./..." (see cmd/socklab/generate.go) and is
// its own program so that cobra/doc, md2man, blackfriday and yaml stay
// out of the socklab binary.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/socklab/socklab/internal/cli"
)

func main() {
	out := flag.String("out", "docs", "folder to write cli/, man/ and completions/ into")
	flag.Parse()
	if err := generate(cli.Command(), *out); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

// manDate is the date in the man pages' footer. It is fixed so that a
// regeneration changes the pages only when the commands change; move it
// on a release.
var manDate = time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC)

func generate(root *cobra.Command, dir string) error {
	root.DisableAutoGenTag = true
	// The binary gets cobra's completion command when it runs; the pages
	// document it too.
	root.InitDefaultCompletionCmd()
	md, man, comp := filepath.Join(dir, "cli"), filepath.Join(dir, "man"), filepath.Join(dir, "completions")
	for _, d := range []string{md, man, comp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := doc.GenMarkdownTree(root, md); err != nil {
		return fmt.Errorf("markdown: %w", err)
	}
	header := &doc.GenManHeader{Title: "SOCKLAB", Section: "1", Source: "socklab", Manual: "socklab manual", Date: &manDate}
	if err := doc.GenManTree(root, header, man); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	return completions(root, comp)
}

func completions(root *cobra.Command, dir string) error {
	for _, c := range []struct {
		file string
		gen  func(*bytes.Buffer) error
	}{
		{"socklab.bash", func(b *bytes.Buffer) error { return root.GenBashCompletionV2(b, true) }},
		{"socklab.zsh", func(b *bytes.Buffer) error { return root.GenZshCompletion(b) }},
		{"socklab.fish", func(b *bytes.Buffer) error { return root.GenFishCompletion(b, true) }},
	} {
		var b bytes.Buffer
		if err := c.gen(&b); err != nil {
			return fmt.Errorf("completion %s: %w", c.file, err)
		}
		if err := os.WriteFile(filepath.Join(dir, c.file), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
