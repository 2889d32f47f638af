package flagx

import "testing"

func TestTraceWait(t *testing.T) {
	for _, tt := range []struct {
		in               string
		wait, here, near float64
	}{
		{"5", 5, 3, 10},
		{"2.5,1,4", 2.5, 1, 4},
		{"5,0,0", 5, -1, -1}, // 0 turns the shortening off
	} {
		w, h, n, err := TraceWait(tt.in)
		if err != nil || w != tt.wait || h != tt.here || n != tt.near {
			t.Errorf("-w %s = %g,%g,%g %v; want %g,%g,%g", tt.in, w, h, n, err, tt.wait, tt.here, tt.near)
		}
	}
}
