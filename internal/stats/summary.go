package stats

import "math"

// Summary is a running count, min, max, mean and variance, updated with
// Welford's online algorithm so that a long run needs no stored samples and
// does not lose precision to large sums. The zero value is ready to use.
type Summary struct {
	n        int64
	mean, m2 float64
	min, max float64
	sum      float64
}

// Add records one sample.
func (s *Summary) Add(x float64) {
	s.n++
	if s.n == 1 {
		s.min, s.max = x, x
	} else {
		s.min = math.Min(s.min, x)
		s.max = math.Max(s.max, x)
	}
	s.sum += x
	d := x - s.mean
	s.mean += d / float64(s.n)
	s.m2 += d * (x - s.mean)
}

// Merge folds o into s (Chan et al.'s parallel update), as if every sample
// of o had been added to s.
func (s *Summary) Merge(o *Summary) {
	if o == nil || o.n == 0 {
		return
	}
	if s.n == 0 {
		*s = *o
		return
	}
	n := s.n + o.n
	d := o.mean - s.mean
	s.m2 += o.m2 + d*d*float64(s.n)*float64(o.n)/float64(n)
	s.mean += d * float64(o.n) / float64(n)
	s.n = n
	s.sum += o.sum
	s.min = math.Min(s.min, o.min)
	s.max = math.Max(s.max, o.max)
}

// N is the number of samples.
func (s *Summary) N() int64 { return s.n }

// Min is the smallest sample, 0 when empty.
func (s *Summary) Min() float64 { return s.min }

// Max is the largest sample, 0 when empty.
func (s *Summary) Max() float64 { return s.max }

// Mean is the arithmetic mean, 0 when empty.
func (s *Summary) Mean() float64 { return s.mean }

// Sum is the total of all samples.
func (s *Summary) Sum() float64 { return s.sum }

// Stddev is the population standard deviation, sqrt(mean(x²) − mean(x)²):
// the figure iputils ping prints as mdev. 0 with fewer than two samples.
func (s *Summary) Stddev() float64 {
	if s.n < 2 {
		return 0
	}
	return math.Sqrt(s.m2 / float64(s.n))
}
