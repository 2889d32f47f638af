package connlimit

// room is the waiting room of a listener at the cap: the sockets of
// newcomers that have not sent a whole first message, accepted and held,
// oldest first, until a slot frees (the oldest takes it), their wait
// deadline passes, or the room overflows (the oldest is shed). It holds a
// descriptor and the time of its accept for each, nothing else: no
// goroutine, no buffer, no timer — the kernel keeps the socket and what
// it received, as it would in the listen backlog. Every waiter waits the
// same time, so arrival order is also deadline order and every operation
// is O(1) at the ends of a ring. Guarded by its listener's mu.
type room struct {
	q     []waiter // ring; len(q) is a power of two, or zero
	head  int
	n     int
	bound int // most waiters held
}

// A waiter is a socket accepted at the cap.
type waiter struct {
	fd int
	at int64 // Limiter.mono() at accept
}

func (r *room) len() int { return r.n }

// oldest returns the waiter that has waited longest; r must not be empty.
func (r *room) oldest() waiter { return r.q[r.head] }

// pop removes and returns the oldest waiter; r must not be empty.
func (r *room) pop() waiter {
	w := r.q[r.head]
	r.q[r.head] = waiter{}
	r.head = (r.head + 1) & (len(r.q) - 1)
	r.n--
	return w
}

// push adds w as the newest waiter; r must hold fewer than bound.
func (r *room) push(w waiter) {
	if r.n == len(r.q) {
		r.grow()
	}
	r.q[(r.head+r.n)&(len(r.q)-1)] = w
	r.n++
}

// grow doubles the ring (it starts at 64 entries and never exceeds the
// bound rounded up to a power of two).
func (r *room) grow() {
	q := make([]waiter, max(64, 2*len(r.q)))
	for i := range r.n {
		q[i] = r.q[(r.head+i)&(len(r.q)-1)]
	}
	r.q, r.head = q, 0
}
