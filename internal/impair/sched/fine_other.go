//go:build !linux

package sched

import "time"

// Elsewhere the scheduler spins (yielding) near deadlines instead.
const haveFineSleep = false

func pinThread() {}

func fineSleep(time.Duration) {}
