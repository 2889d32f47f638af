package units

import (
	"testing"
	"time"
)

func TestParseBitrate(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  bool
	}{
		{"1000", 1000, false},
		{"10k", 10e3, false},
		{"10M", 10e6, false},
		{"10Mbit", 10e6, false},
		{"10mbps", 10e6, false},
		{"1.5G", 1.5e9, false},
		{"1MB", 8e6, false},
		{"1MBps", 8e6, false},
		{"", 0, true},
		{"fast", 0, true},
		{"-5M", 0, true},
		{"NaN", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseBitrate(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("ParseBitrate(%q) err = %v, want error %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("ParseBitrate(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"1", time.Second, false},
		{"0.2", 200 * time.Millisecond, false},
		{"0.002", 2 * time.Millisecond, false},
		{"0", 0, false},
		{"-1", -time.Second, false},
		{"1.5s", 1500 * time.Millisecond, false},
		{"200ms", 200 * time.Millisecond, false},
		{"1m30s", 90 * time.Second, false},
		{" 10 ", 10 * time.Second, false},
		{"", 0, true},
		{"ten", 0, true},
		{"1e300", 0, true},
		{"NaN", 0, true},
		{"5x", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1", "0.5", "200ms", "1m30s", "", "-3", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil && d != 0 {
			t.Fatalf("%q: error %v with value %v", s, err, d)
		}
	})
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"512", 512, false},
		{"64k", 65536, false}, // iperf3's -l 64k
		{"1K", 1024, false},
		{"1M", 1 << 20, false},
		{"1G", 1 << 30, false},
		{"64KB", 64000, false}, // the SI unit spelled out stays decimal
		{"100MB", 100e6, false},
		{"64KiB", 65536, false},
		{"256MiB", 256 << 20, false},
		{"8MiB", 8 << 20, false},
		{"1GiB", 1 << 30, false},
		{"x", 0, true},
		{"-1", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  bool
	}{
		{"5%", 0.05, false},
		{"0.5", 0.005, false},
		{"100%", 1, false},
		{"101%", 0, true},
		{"-1", 0, true},
		{"lots", 0, true},
	}
	for _, tt := range tests {
		got, err := ParsePercent(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParsePercent(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestFormat(t *testing.T) {
	if got := FormatBitrate(9_870_000); got != "9.87 Mbit/s" {
		t.Errorf("FormatBitrate = %q", got)
	}
	if got := FormatBitrate(512); got != "512 bit/s" {
		t.Errorf("FormatBitrate = %q", got)
	}
	if got := FormatBytes(1536 * 1024); got != "1.50 MiB" {
		t.Errorf("FormatBytes = %q", got)
	}
	// Small rates keep units and a fixed precision, never a raw float.
	for _, c := range []struct {
		got, want string
	}{
		{FormatBytes(39.96706961259754), "39.97 B"},
		{FormatBitrate(319.7365569), "319.74 bit/s"},
		{FormatBitrate(0), "0 bit/s"},
		{FormatBytes(0.5), "0.50 B"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func FuzzParseBitrate(f *testing.F) {
	for _, s := range []string{"10M", "1.5Gbit", "1MBps", "", "k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseBitrate(s)
		if err == nil && v < 0 {
			t.Fatalf("ParseBitrate(%q) = %v: negative without error", s, v)
		}
	})
}
