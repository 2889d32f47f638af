// Package importgraph holds no code: its test checks that socklab's
// packages import only downwards (cmd → cli → report → engines → pure
// layer), the rule STYLE.md states and one test keeps.
package importgraph
