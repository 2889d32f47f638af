package flagx

import (
	"math"
	"strconv"
	"strings"

	"github.com/socklab/socklab/internal/errs"
)

// TraceWait reads traceroute's -w MAX[,HERE,NEAR] (traceroute 2.1). HERE and NEAR
// of 0 turn their shortening off, which the engine spells as negative.
func TraceWait(v string) (wait, here, near float64, err error) {
	parts := strings.Split(v, ",")
	if len(parts) != 1 && len(parts) != 3 {
		return 0, 0, 0, errs.Invalidf("traceroute: -w %q: want MAX or MAX,HERE,NEAR (e.g. 5,3,10)", v)
	}
	vals := []float64{5, 3, 10}
	for i, p := range parts {
		f, perr := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if perr != nil || math.IsNaN(f) || f < 0 || f > 3600 || (i == 0 && f == 0) {
			return 0, 0, 0, errs.Invalidf("traceroute: bad wait %q in -w %q: want MAX above 0 and at most 3600 seconds, HERE and NEAR 0 or more", p, v)
		}
		vals[i] = f
	}
	off := func(f float64) float64 {
		if f == 0 {
			return -1
		}
		return f
	}
	return vals[0], off(vals[1]), off(vals[2]), nil
}
