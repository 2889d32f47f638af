// Package units parses and formats the quantities users type on the command
// line: bit rates ("10M", "1.5Gbit"), byte sizes ("256MiB"), durations
// ("10", "200ms") and percentages ("2%", "0.5"). It is pure: no I/O, no clocks.
package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseBitrate reads a rate in bits per second. Suffixes are decimal, as
// iperf3 and tc use them: k=1e3, M=1e6, G=1e9, T=1e12, optionally followed by
// "bit", "bps" or "b/s" ("10M", "10Mbit", "10Mbps", "1.5G"). A bare number is
// bits per second. A suffix ending in "B" ("10MB", "10MBps") means bytes.
func ParseBitrate(s string) (float64, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("bit rate %q: empty", orig)
	}
	bytes := false
	lower := strings.ToLower(s)
	for _, suf := range []string{"bit/s", "bits/s", "bps", "bit", "bits", "b/s"} {
		if strings.HasSuffix(lower, suf) {
			// "Bps"/"B/s" with a capital B means bytes per second.
			if strings.HasPrefix(s[len(s)-len(suf):], "B") {
				bytes = true
			}
			s = s[:len(s)-len(suf)]
			break
		}
	}
	if strings.HasSuffix(s, "B") {
		bytes = true
		s = s[:len(s)-1]
	}
	v, err := parseScaled(s, 1000)
	if err != nil {
		return 0, fmt.Errorf("bit rate %q: %w", orig, err)
	}
	if bytes {
		v *= 8
	}
	return v, nil
}

// ParseSize reads a byte count: "512"; "64K" or "64k" (binary, as iperf3's
// -l reads them: 65536); "64KiB" (binary); "64KB" (decimal, the SI unit
// spelled out: 64000); up to T, TiB, TB.
func ParseSize(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	base := 1024.0
	switch {
	case strings.HasSuffix(s, "iB"):
		s = s[:len(s)-2]
	case strings.HasSuffix(s, "B"):
		base = 1000
		s = s[:len(s)-1]
	}
	v, err := parseScaled(s, base)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", orig, err)
	}
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q: too large", orig)
	}
	return int64(math.Round(v)), nil
}

// ParsePercent reads a probability given as "5%" or "5" (percent) and returns
// it as a fraction in [0, 1].
func ParsePercent(s string) (float64, error) {
	orig := s
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("percentage %q: not a number", orig)
	}
	if v < 0 || v > 100 {
		return 0, fmt.Errorf("percentage %q: must be between 0 and 100", orig)
	}
	return v / 100, nil
}

// ParseDuration reads a duration: Go's form ("1.5s", "200ms", "1m30s") or
// a bare number of seconds ("10", "0.2"), as iperf3's -t, ping's -i and
// curl's -m take it.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > math.MaxInt64/float64(time.Second) {
			return 0, fmt.Errorf("duration %q: out of range", s)
		}
		return time.Duration(math.Round(v * float64(time.Second))), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want seconds (10, 0.5) or a number with a unit (200ms, 1m30s)", s)
	}
	return d, nil
}

func parseScaled(s string, base float64) (float64, error) {
	if s == "" {
		return 0, fmt.Errorf("no number")
	}
	mult := 1.0
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = base
	case 'm', 'M':
		mult = base * base
	case 'g', 'G':
		mult = base * base * base
	case 't', 'T':
		mult = base * base * base * base
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("not a number")
	}
	if v < 0 {
		return 0, fmt.Errorf("negative")
	}
	return v * mult, nil
}

// FormatBitrate renders bits per second with a decimal prefix: "9.87 Mbit/s".
func FormatBitrate(bps float64) string {
	return scaled(bps, 1000, []string{"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"})
}

// FormatBytes renders a byte count with a binary prefix: "1.5 MiB".
func FormatBytes(n float64) string {
	return scaled(n, 1024, []string{"B", "KiB", "MiB", "GiB", "TiB"})
}

func scaled(v, base float64, names []string) string {
	i := 0
	for math.Abs(v) >= base && i < len(names)-1 {
		v /= base
		i++
	}
	if i == 0 && v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64) + " " + names[0]
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + " " + names[i]
}
