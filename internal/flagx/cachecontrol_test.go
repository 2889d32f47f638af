package flagx

import "testing"

func TestCacheControl(t *testing.T) {
	const site = "public, max-age=300"
	tests := []struct{ flag, root, want string }{
		{"auto", "", site},
		{"auto", "/srv/www", ""},
		{"none", "", ""},
		{"off", "/srv/www", ""},
		{"no-cache", "/srv/www", "no-cache"},
		{"public, max-age=3600", "", "public, max-age=3600"},
	}
	for _, tt := range tests {
		if got := CacheControl(tt.flag, tt.root, site); got != tt.want {
			t.Errorf("CacheControl(%q, %q) = %q, want %q", tt.flag, tt.root, got, tt.want)
		}
	}
}
