package qos

import (
	"testing"
	"time"

	"github.com/socklab/socklab/internal/qoswire"
)

const sess = 0xABCDEF

// mk builds a reply: sent at sendMono (sender wall = 1e12 + sendMono),
// reflected between reflRecv and reflSend, received at rx.
func mk(seq uint64, sendMono, reflRecv, reflSend, rx int64, count uint64) reply {
	return reply{
		hdr: qoswire.Header{
			Flags: qoswire.FlagReply, Session: sess, Seq: seq,
			SendMono: sendMono, SendWall: 1e12 + sendMono,
			ReflRecv: reflRecv, ReflSend: reflSend, ReflCount: count,
		},
		size:   64,
		rxMono: rx,
	}
}

func newTestCollector(sent int64, lateAfter time.Duration) *collector {
	c := newCollector(sess, 64, 1e12, true, lateAfter, newSeries(time.Millisecond, 100))
	c.sent.Store(sent)
	return c
}

func TestCollectorVerdicts(t *testing.T) {
	tests := []struct {
		name       string
		sent       int64
		lateAfter  time.Duration
		in         []reply
		want       []verdict
		recv, dups int64
		reord      int64
		late, frgn int64
	}{
		{
			name: "in order",
			sent: 3,
			in:   []reply{mk(0, 0, 5, 5, 10, 1), mk(1, 100, 105, 105, 110, 2), mk(2, 200, 205, 205, 210, 3)},
			want: []verdict{vReceived, vReceived, vReceived},
			recv: 3,
		},
		{
			name: "reorder and duplicate",
			sent: 4,
			in:   []reply{mk(0, 0, 5, 5, 10, 1), mk(2, 200, 205, 205, 210, 2), mk(1, 100, 207, 207, 212, 3), mk(1, 100, 207, 207, 213, 3), mk(3, 300, 305, 305, 310, 4)},
			want: []verdict{vReceived, vReceived, vReordered, vDuplicate, vReceived},
			recv: 4, dups: 1, reord: 1,
		},
		{
			name:      "late after the per-probe deadline",
			sent:      2,
			lateAfter: 100,
			in:        []reply{mk(0, 0, 5, 5, 50, 1), mk(1, 10, 15, 15, 200, 2)},
			want:      []verdict{vReceived, vLate},
			recv:      1, late: 1,
		},
		{
			name: "foreign: other session, not a reply, never sent",
			sent: 1,
			in: func() []reply {
				a := mk(0, 0, 5, 5, 10, 1)
				a.hdr.Session = 1
				b := mk(0, 0, 5, 5, 10, 1)
				b.hdr.Flags = 0
				c := mk(5, 0, 5, 5, 10, 1)
				return []reply{a, b, c}
			}(),
			want: []verdict{vForeign, vForeign, vForeign},
			frgn: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCollector(tt.sent, tt.lateAfter)
			for i, r := range tt.in {
				if got := c.add(r); got != tt.want[i] {
					t.Fatalf("reply #%d (seq %d): verdict %v, want %v", i, r.hdr.Seq, got, tt.want[i])
				}
			}
			if c.received != tt.recv || c.dups != tt.dups || c.reordered != tt.reord || c.late != tt.late || c.foreign != tt.frgn {
				t.Fatalf("recv/dups/reord/late/foreign = %d/%d/%d/%d/%d", c.received, c.dups, c.reordered, c.late, c.foreign)
			}
		})
	}
}

func TestCollectorClosedIsLate(t *testing.T) {
	c := newTestCollector(2, 0)
	c.add(mk(0, 0, 5, 5, 10, 1))
	c.close()
	if v := c.add(mk(1, 10, 15, 15, 5e9, 2)); v != vLate {
		t.Fatalf("reply after the wait: %v, want late", v)
	}
	r := c.result(1, time.Second, 28)
	if r.Received != 1 || r.Late != 1 || r.Lost != 1 || r.LostDown != 1 || r.LostUp != 0 {
		t.Fatalf("received/late/lost/up/down = %d/%d/%d/%d/%d", r.Received, r.Late, r.Lost, r.LostUp, r.LostDown)
	}
}

func TestCollectorRTTDwell(t *testing.T) {
	tests := []struct {
		name string
		r    reply
		want time.Duration
	}{
		// Sent at 1000, back at 9000: 8000 raw, of which 3000 inside the reflector.
		{"dwell subtracted", mk(0, 1000, 5e15, 5e15+3000, 9000, 1), 5000},
		{"no dwell", mk(0, 1000, 5e15, 5e15, 9000, 1), 8000},
		// A dwell longer than the round trip is a broken reflector clock: ignored.
		{"impossible dwell ignored", mk(0, 1000, 5e15, 5e15+9000, 9000, 1), 8000},
		{"unstamped reflector", mk(0, 1000, 0, 0, 9000, 1), 8000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCollector(1, 0)
			c.add(tt.r)
			if got := time.Duration(c.rtt.Max()); got != tt.want {
				t.Fatalf("rtt = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCollectorJitterPerDirection hand-computes RFC 3550 jitter for each
// direction. Sender wall = 1e12 + sendMono; the reflector clock is offset by
// an arbitrary 7e15, which must cancel.
//
//	seq sendMono  up transit  reflector dwell  down transit
//	0   0         1000        0                500
//	1   1000      1400        0                500
//	2   2000      1100        0                900
//
// Up: |D| = 400, 300 → J = 400/16 = 25; 25 + (300−25)/16 = 42.1875 → 42 ns.
// Down: |D| = 0, 400 → J = 0; 400/16 = 25 ns.
// IPDV up: +400, −300 (mean 50, max |.| 400); down: 0, +400 (mean 200).
func TestCollectorJitterPerDirection(t *testing.T) {
	const off = 7e15
	c := newTestCollector(3, 0)
	up := []int64{1000, 1400, 1100}
	down := []int64{500, 500, 900}
	for i := range 3 {
		send := int64(i) * 1000
		reflRecv := 1e12 + send + up[i] + off
		rxWall := reflRecv - off + down[i] // on the sender's clock
		c.add(mk(uint64(i), send, reflRecv, reflRecv, rxWall-1e12, uint64(i+1)))
	}
	r := c.result(1, time.Second, 28)
	if r.JitterUp != 42 || r.JitterDown != 25 {
		t.Fatalf("jitter up/down = %v/%v, want 42ns/25ns", r.JitterUp, r.JitterDown)
	}
	if r.IPDVUp.N != 2 || r.IPDVUp.Mean != 50 || r.IPDVUp.Max != 400 || r.IPDVDown.Mean != 200 || r.IPDVDown.Max != 400 {
		t.Fatalf("ipdv up %+v down %+v", r.IPDVUp, r.IPDVDown)
	}
	// RTT = up + down (no dwell): 1500, 1900, 2000.
	if r.RTT.Min != 1500 || r.RTT.Max != 2000 || r.RTT.Avg != 1800 {
		t.Fatalf("rtt %+v", r.RTT)
	}
	// With synced clocks the OWD would be exact; here it carries the offset.
	if r.OWDUp == nil || r.OWDUp.Min != time.Duration(off+1000) {
		t.Fatalf("owd up %+v", r.OWDUp)
	}
}

func TestSplitLoss(t *testing.T) {
	tests := []struct {
		name             string
		sent, lost, ans  int64
		maxSeq, maxCount uint64
		up, down         int64
	}{
		{"no loss", 100, 0, 100, 99, 100, 0, 0},
		{"nothing came back", 100, 100, 0, 0, 0, 100, 0},
		// Last reply: seq 99 with count 90 → 10 never reached the reflector.
		{"all upstream", 100, 10, 90, 99, 90, 10, 0},
		// Reflector saw all 100, 5 replies missing.
		{"all downstream", 100, 5, 95, 99, 100, 0, 5},
		{"both", 100, 15, 85, 99, 95, 5, 10},
		// Highest witness at seq 49 with count 45: 5 of 50 lost up (10%);
		// the 50 after it are split 10% up → 5 + 5 = 10 up, rest down.
		{"tail split in proportion", 100, 60, 40, 49, 45, 10, 50},
		// Duplicated upstream probes can push the count past seq+1.
		{"count above seq", 10, 1, 9, 9, 12, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, down := splitLoss(tt.sent, tt.lost, tt.ans, tt.maxSeq, tt.maxCount)
			if up != tt.up || down != tt.down {
				t.Fatalf("splitLoss = %d up, %d down; want %d, %d", up, down, tt.up, tt.down)
			}
		})
	}
}

func TestSeriesBoundedAndMerging(t *testing.T) {
	s := newSeries(time.Millisecond, 10)
	for i := range 1000 {
		at := int64(i) * int64(100*time.Microsecond) // 0..100ms
		s.sent([]int64{at})
		if i%10 != 0 {
			s.reply(at, int64(i), 0)
		}
	}
	pts := s.points()
	if len(pts) > 10 {
		t.Fatalf("%d points, cap 10", len(pts))
	}
	var sent, recv int64
	for _, p := range pts {
		sent += p.Sent
		recv += p.Received
	}
	if sent != 1000 || recv != 900 {
		t.Fatalf("sent/recv after merging = %d/%d, want 1000/900", sent, recv)
	}
	if pts[0].Width != 16*time.Millisecond || pts[0].Lost() != 16 {
		t.Fatalf("first point %+v", pts[0])
	}
}

// Streams keep a series each (no lock shared per probe); merged, they give
// what one shared series would have: a stream that ran longer and widened
// its buckets brings the others to its width.
func TestMergeSeriesMatchesShared(t *testing.T) {
	shared := newSeries(time.Millisecond, 10)
	a, b := newSeries(time.Millisecond, 10), newSeries(time.Millisecond, 10)
	for i := range 300 {
		at := int64(i) * int64(100*time.Microsecond) // a: 0..30ms
		for _, s := range []*series{shared, a} {
			s.sent([]int64{at})
			s.reply(at, int64(1000+i), int64(i))
		}
	}
	for i := range 50 {
		at := int64(i) * int64(time.Millisecond) // b: 0..50ms, widens further
		for _, s := range []*series{shared, b} {
			s.sent([]int64{at})
			if i%5 != 0 {
				s.reply(at, int64(i), 0)
			}
		}
	}
	got, want := mergeSeries([]*series{a, b}).points(), shared.points()
	if len(got) != len(want) {
		t.Fatalf("%d merged points, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("point %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
