package httpget

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/load"
)

func TestValidate(t *testing.T) {
	for _, c := range []Config{{Count: -1}, {MaxRedirects: -1}} {
		if err := c.Validate(); !errors.Is(err, errs.ErrInvalidConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
}

// TestFollow: a 302 after a POST is followed with GET and no body
// (RFC 9110 section 15.4), a 307 keeps the method; only the final
// response's body is written (curl -L), though net/http's redirects carry
// one for a GET; the limit stops a loop.
func TestFollow(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/302":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/307":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			io.WriteString(w, r.Method+" "+string(b))
		}
	}))
	defer origin.Close()
	run := func(method, path string, maxRedir int) ([]*load.ProbeResult, []string, error) {
		var bodies strings.Builder
		var body []byte
		if method == http.MethodPost {
			body = []byte("x=1")
		}
		g, err := New(Config{
			Request: load.ProbeConfig{URL: origin.URL + path, Method: method, Body: body, Timeout: 5 * time.Second},
			Follow:  true, MaxRedirects: maxRedir,
			Body: func() (io.Writer, func() error, error) { return &bodies, func() error { return nil }, nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		rs, err := g.Run(context.Background())
		return rs, []string{bodies.String()}, err
	}
	for _, tt := range []struct{ method, path, want string }{
		{http.MethodPost, "/302", "GET "},
		{http.MethodPost, "/307", "POST x=1"},
		{http.MethodGet, "/302", "GET "},
	} {
		rs, bodies, err := run(tt.method, tt.path, 5)
		if err != nil || len(rs) != 2 || rs[1].Status != 200 || bodies[0] != tt.want {
			t.Errorf("%s %s: %d responses, bodies %q, %v; want 2 and only %q written", tt.method, tt.path, len(rs), bodies, err, tt.want)
		}
		if tt.method == http.MethodGet && rs[0].Size == 0 {
			t.Errorf("GET %s: the redirect came without a body, so the test proves nothing", tt.path)
		}
	}
	if rs, _, err := run(http.MethodPost, "/loop", 3); err == nil || !strings.Contains(err.Error(), "maximum (3) redirects") || len(rs) != 4 {
		t.Errorf("loop: %d responses, %v", len(rs), err)
	}
}
