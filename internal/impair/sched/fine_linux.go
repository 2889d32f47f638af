package sched

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// haveFineSleep: nanosleep(2) on a thread whose timer slack is 1 ns wakes
// within tens of microseconds, where the runtime's timers (time.Sleep)
// wake a millisecond late on a busy machine. Sleeping instead of spinning
// also keeps the scheduler's thread from being penalised as a CPU hog when
// the machine is loaded.
const haveFineSleep = true

// pinThread locks the Run goroutine to its thread and sets that thread's
// timer slack to 1 ns. The thread is never unlocked, so the runtime
// retires it when Run returns and no other goroutine inherits the setting.
func pinThread() {
	runtime.LockOSThread()
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
}

func fineSleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_ = unix.Nanosleep(&ts, nil)
}
