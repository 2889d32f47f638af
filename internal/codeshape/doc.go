// Package codeshape holds no code: its test keeps the rule STYLE.md sets
// for every function of the repository (at most 80 lines, so a function
// reads as one phase), by parsing each non-test Go file with go/ast.
package codeshape
