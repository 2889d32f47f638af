package main

// The command reference in docs/cli is generated from the cobra commands.
//go:generate go run . docs ../../docs/cli
