package flagx

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/errs"
)

func TestCheckListenAddr(t *testing.T) {
	for _, tt := range []struct {
		addr string
		ok   bool
	}{{"127.0.0.1:8000", true}, {":8000", true}, {"[::1]:0", true}, {"nonsense", false}, {"127.0.0.1:", false}, {"a:b:c", false}} {
		err := CheckListenAddr("--http", tt.addr)
		if (err == nil) != tt.ok {
			t.Errorf("%q: %v", tt.addr, err)
		}
		if err != nil && (!errors.Is(err, errs.ErrInvalidConfig) || !strings.Contains(err.Error(), "--http")) {
			t.Errorf("%q: %v does not name the flag or is not a config error", tt.addr, err)
		}
	}
}

func TestPrefixes(t *testing.T) {
	got, err := Prefixes("--allow", []string{"10.1.2.3/8", "192.0.2.7", "::1"})
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("::1/128")}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Prefixes = %v, %v; want %v", got, err, want)
	}
	if _, err := Prefixes("--allow", []string{"not-a-cidr"}); !errors.Is(err, errs.ErrInvalidConfig) || !strings.Contains(err.Error(), "--allow") {
		t.Fatalf("bad CIDR: %v", err)
	}
	if got, err := Prefixes("--allow", nil); got != nil || err != nil {
		t.Fatalf("none: %v %v", got, err)
	}
}

func TestFieldName(t *testing.T) {
	for s, ok := range map[string]bool{"Socklab-Cache-Control": true, "x": true, "": false, "a b": false, "a:b": false, "é": false} {
		if FieldName(s) != ok {
			t.Errorf("FieldName(%q) = %v", s, !ok)
		}
	}
}

func TestOffToEmpty(t *testing.T) {
	a, b := "off", "127.0.0.1:1"
	OffToEmpty(&a, &b)
	if a != "" || b != "127.0.0.1:1" {
		t.Fatalf("%q %q", a, b)
	}
}
