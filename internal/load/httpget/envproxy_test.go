package httpget

import (
	"net/url"
	"testing"
)

func TestEnvProxy(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		target string
		want   string
	}{
		{"none", nil, "http://127.0.0.1/", ""},
		{"lowercase first", map[string]string{"http_proxy": "a:1", "HTTP_PROXY": "b:1"}, "http://127.0.0.1/", "a:1"},
		{"uppercase", map[string]string{"HTTP_PROXY": "b:1"}, "http://127.0.0.1/", "b:1"},
		{"httpoxy: no HTTP_PROXY under CGI", map[string]string{"HTTP_PROXY": "b:1", "REQUEST_METHOD": "GET"}, "http://127.0.0.1/", ""},
		{"https reads https_proxy", map[string]string{"http_proxy": "a:1", "HTTPS_PROXY": "s:1"}, "https://127.0.0.1/", "s:1"},
		{"https does not read http_proxy", map[string]string{"http_proxy": "a:1"}, "https://127.0.0.1/", ""},
		{"all_proxy fallback", map[string]string{"ALL_PROXY": "c:1"}, "https://127.0.0.1/", "c:1"},
		{"loopback proxied, as curl", map[string]string{"http_proxy": "a:1"}, "http://localhost:8000/", "a:1"},
		{"no_proxy star", map[string]string{"http_proxy": "a:1", "no_proxy": "*"}, "http://127.0.0.1/", ""},
		{"no_proxy IP", map[string]string{"http_proxy": "a:1", "NO_PROXY": "10.0.0.1, 127.0.0.1"}, "http://127.0.0.1:8000/", ""},
		{"no_proxy CIDR", map[string]string{"http_proxy": "a:1", "no_proxy": "127.0.0.0/8"}, "http://127.0.0.2/", ""},
		{"no_proxy IPv6", map[string]string{"http_proxy": "a:1", "no_proxy": "[::1]"}, "http://[::1]:80/", ""},
		{"no_proxy domain suffix", map[string]string{"http_proxy": "a:1", "no_proxy": ".lab.test"}, "http://www.lab.test/", ""},
		{"no_proxy bare domain covers subdomains", map[string]string{"http_proxy": "a:1", "no_proxy": "lab.test"}, "http://www.lab.test/", ""},
		{"no_proxy no partial label", map[string]string{"http_proxy": "a:1", "no_proxy": "lab.test"}, "http://mylab.test/", "a:1"},
		{"no_proxy other host", map[string]string{"http_proxy": "a:1", "no_proxy": "10.0.0.0/8,example.org"}, "http://127.0.0.1/", "a:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.target)
			if got := EnvProxy(func(k string) string { return tt.env[k] }, u); got != tt.want {
				t.Fatalf("EnvProxy = %q, want %q", got, tt.want)
			}
		})
	}
}
