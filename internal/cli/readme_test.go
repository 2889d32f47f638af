package cli

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// readmeSection matches a README heading that documents one command, such as
// "### `socklab load` — ..." or "### socklab proxy — ...".
var readmeSection = regexp.MustCompile("^#{2,4} `?socklab ([a-z]+)")

// readmeMention matches a command named in running text ("`socklab serve`
// answers ..."): the flags after it, to the end of the paragraph, may be
// that command's.
var readmeMention = regexp.MustCompile("`socklab ([a-z]+)")

// readmeFlag matches a flag written in code in the README: `--procs N`,
// `-c N`, `--udp off`.
var readmeFlag = regexp.MustCompile("`(--?[a-zA-Z][a-zA-Z0-9-]*)[ =`]")

// TestReadmeFlagsExist checks that every flag the README names in a
// command's section is one that command accepts: a flag documented but never
// registered ("unknown flag") is where a new user stops (issue 18).
func TestReadmeFlagsExist(t *testing.T) {
	fh, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	root := newRootCmd(&env{})
	var section *cobra.Command
	var cmds []*cobra.Command // the section's command and those its paragraph names
	checked := 0
	sc := bufio.NewScanner(fh)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") {
			section = nil
			if m := readmeSection.FindStringSubmatch(text); m != nil {
				if section = findCmd(root, m[1]); section == nil {
					t.Errorf("README.md:%d: section for unknown command %q", line, m[1])
				}
			}
			cmds = []*cobra.Command{section}
			continue
		}
		if section == nil {
			continue
		}
		if strings.TrimSpace(text) == "" {
			cmds = cmds[:1]
		}
		for _, m := range readmeMention.FindAllStringSubmatch(text, -1) {
			if c := findCmd(root, m[1]); c != nil {
				cmds = append(cmds, c)
			}
		}
		for _, m := range readmeFlag.FindAllStringSubmatchIndex(text, -1) {
			flag := text[m[2]:m[3]]
			if strings.HasSuffix(text[:m[0]], "'s ") {
				continue // another tool's flag: "like wrk's `-t`"
			}
			if !slices.ContainsFunc(cmds, func(c *cobra.Command) bool { return hasFlag(c, flag) }) {
				t.Errorf("README.md:%d: %s documents %s, which it does not accept", line, section.CommandPath(), flag)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d flags checked: did the README's layout change?", checked)
	}
}

// findCmd returns root's subcommand name, or nil.
func findCmd(root *cobra.Command, name string) *cobra.Command {
	c, _, err := root.Find([]string{name})
	if err != nil || c == root {
		return nil
	}
	return c
}

// hasFlag reports whether cmd accepts flag ("--name" or "-x"), its own or
// inherited from the root.
func hasFlag(cmd *cobra.Command, flag string) bool {
	fs := cmd.Flags()
	if name, ok := strings.CutPrefix(flag, "--"); ok {
		return fs.Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil || name == "help"
	}
	short := strings.TrimPrefix(flag, "-")
	if len(short) != 1 {
		return false
	}
	return fs.ShorthandLookup(short) != nil || short == "h"
}
