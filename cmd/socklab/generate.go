package main

// The command reference (docs/cli), man pages (docs/man) and shell
// completions (docs/completions) are generated from the cobra commands by
// a separate program, so the generator is not linked into socklab.
//go:generate go run ../../tools/gendocs -out ../../docs
