package hostaddr

import (
	"context"
	"testing"
)

// Literals never reach the resolver; a family that does not match is
// refused as getaddrinfo refuses it.
func TestResolveLiterals(t *testing.T) {
	tests := []struct {
		network, host, want string
		ok                  bool
	}{
		{"ip", "127.0.0.1", "127.0.0.1", true},
		{"ip4", "::ffff:127.0.0.1", "127.0.0.1", true},
		{"ip6", "[::1]", "::1", true},
		{"ip4", "::1", "", false},
		{"ip6", "127.0.0.1", "", false},
	}
	for _, tt := range tests {
		a, err := Resolve(context.Background(), tt.network, tt.host)
		if (err == nil) != tt.ok || (tt.ok && a.String() != tt.want) {
			t.Errorf("Resolve(%s, %s) = %v, %v", tt.network, tt.host, a, err)
		}
	}
}

func TestInterface(t *testing.T) {
	if name, err := Interface("127.0.0.1"); err != nil || name == "" {
		t.Fatalf("Interface(127.0.0.1) = %q, %v; loopback holds it", name, err)
	}
	if _, err := Interface("no-such-interface0"); err == nil {
		t.Fatal("an unknown interface was accepted")
	}
}
