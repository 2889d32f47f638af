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
// (RFC 9110 section 15.4), a 307 keeps the method; the limit stops a loop.
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
	run := func(path string, maxRedir int) ([]*load.ProbeResult, []string, error) {
		var bodies strings.Builder
		g, err := New(Config{
			Request: load.ProbeConfig{URL: origin.URL + path, Method: http.MethodPost, Body: []byte("x=1"), Timeout: 5 * time.Second},
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
	for _, tt := range []struct{ path, want string }{{"/302", "GET "}, {"/307", "POST x=1"}} {
		rs, bodies, err := run(tt.path, 5)
		if err != nil || len(rs) != 2 || rs[1].Status != 200 || !strings.HasSuffix(bodies[0], tt.want) {
			t.Errorf("%s: %d responses, bodies %q, %v; want 2 ending in %q", tt.path, len(rs), bodies, err, tt.want)
		}
	}
	if rs, _, err := run("/loop", 3); err == nil || !strings.Contains(err.Error(), "maximum (3) redirects") || len(rs) != 4 {
		t.Errorf("loop: %d responses, %v", len(rs), err)
	}
}
