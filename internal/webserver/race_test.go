//go:build race

package webserver

const raceEnabled = true
