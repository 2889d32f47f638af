package menu

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a set of fake actions that log what they were asked to do.
type recorder struct{ calls []string }

func (r *recorder) actions() Actions {
	return Actions{
		Connectivity: func(_ context.Context, w io.Writer) error {
			r.calls = append(r.calls, "connectivity")
			io.WriteString(w, "ALL OK\n")
			return nil
		},
		HTTPRequest: func(_ context.Context, w io.Writer) error {
			r.calls = append(r.calls, "http")
			return nil
		},
		QoS: func(_ context.Context, w io.Writer, p QoSParams) error {
			r.calls = append(r.calls, "qos "+p.Interval.String()+" "+strconv.Itoa(p.Count)+" "+strconv.Itoa(p.Size))
			return nil
		},
		MultiClient: func(_ context.Context, w io.Writer, n int) error {
			r.calls = append(r.calls, "multi "+strconv.Itoa(n))
			return errors.New("proxy down")
		},
		Ping: func(_ context.Context, w io.Writer, host string) error {
			r.calls = append(r.calls, "ping "+host)
			return nil
		},
		Traceroute: func(_ context.Context, w io.Writer, host string) error {
			r.calls = append(r.calls, "trace "+host)
			return nil
		},
	}
}

func TestMenuDialogues(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		calls     []string
		outWants  []string
		outAvoids []string
	}{
		{"http then exit", "2\n0\n", []string{"http"}, []string{"2) HTTP request through the proxy", "0) exit", "choice> "}, nil},
		{"EOF exits cleanly", "1\n", []string{"connectivity"}, []string{"ALL OK"}, nil},
		{"empty input", "", nil, []string{"choice> "}, nil},
		{"invalid choices re-prompt", "9\nabc\n\n2\n0\n", []string{"http"},
			[]string{`invalid choice "9": enter a number from 0 to 6`, `invalid choice "abc"`}, nil},
		{"qos defaults", "3\n\n\n\n0\n", []string{"qos 20ms 100 64"}, []string{"probes [100]: ", "interval (ms, or with a unit) [20ms]: ", "size in bytes [64]: "}, nil},
		{"qos answers", "3\n50\n5\n128\n", []string{"qos 5ms 50 128"}, nil, nil},
		{"qos bad answers asked again", "3\nx\n-1\n10\nsoon\n0.5s\n10\n200\n", []string{"qos 500ms 10 200"},
			[]string{`invalid probes "x"`, `invalid probes "-1"`, `invalid interval "soon"`, `invalid size in bytes "10"`}, nil},
		{"qos EOF mid-questions", "3\n10\n", nil, nil, nil},
		{"multi default and error shown", "4\n\n4\n3\n0\n", []string{"multi 5", "multi 3"}, []string{"clients [5]: ", "error: proxy down"}, nil},
		{"ping and traceroute hosts", "5\n\n6\n::1\n0\n", []string{"ping 127.0.0.1", "trace ::1"}, []string{"host [127.0.0.1]: "}, nil},
		{"spaces trimmed", "  2  \n 0\n", []string{"http"}, nil, []string{"invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			var out strings.Builder
			m := New(Config{In: strings.NewReader(tt.input), Out: &out, Actions: rec.actions(), Banner: "socklab client"})
			if err := m.Run(context.Background()); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if strings.Join(rec.calls, "|") != strings.Join(tt.calls, "|") {
				t.Fatalf("calls %q, want %q\noutput:\n%s", rec.calls, tt.calls, out.String())
			}
			for _, w := range append(tt.outWants, "socklab client") {
				if !strings.Contains(out.String(), w) {
					t.Fatalf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, a := range tt.outAvoids {
				if strings.Contains(out.String(), a) {
					t.Fatalf("output has %q:\n%s", a, out.String())
				}
			}
		})
	}
}

func TestMenuUnavailableAction(t *testing.T) {
	var out strings.Builder
	called := false
	m := New(Config{In: strings.NewReader("5\n2\n0\n"), Out: &out, Actions: Actions{
		HTTPRequest: func(context.Context, io.Writer) error { called = true; return nil },
	}})
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !called || !strings.Contains(out.String(), "option 5 (ping) is not available") || !strings.Contains(out.String(), "5) ping (not available)") {
		t.Fatalf("called %v, output:\n%s", called, out.String())
	}
}

func TestMenuActionErrorThatLooksLikeEOF(t *testing.T) {
	var out strings.Builder
	n := 0
	m := New(Config{In: strings.NewReader("2\n2\n0\n"), Out: &out, Actions: Actions{
		HTTPRequest: func(context.Context, io.Writer) error { n++; return io.EOF },
	}})
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("an action returning io.EOF ended the menu after %d calls", n)
	}
}

func TestMenuCancelWhileWaiting(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out := &promptWatch{prompted: make(chan struct{})}
	errc := make(chan error, 1)
	go func() { errc <- New(Config{In: pr, Out: out}).Run(ctx) }()
	// Wait until the prompt is out, then cancel.
	select {
	case <-out.prompted:
	case <-time.After(5 * time.Second):
		t.Fatalf("no prompt within 5s:\n%s", out.String())
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("menu did not return after cancel")
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"20": 20 * time.Millisecond, "0.5": 500 * time.Microsecond, "1s": time.Second, "250ms": 250 * time.Millisecond} {
		if got, ok := parseDuration(in); !ok || got != want {
			t.Fatalf("parseDuration(%q) = %v, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"0", "-5ms", "2m", "x", ""} {
		if _, ok := parseDuration(bad); ok {
			t.Fatalf("parseDuration(%q) accepted", bad)
		}
	}
}

// syncBuffer is a strings.Builder safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// promptWatch is an output that signals once the menu has asked for a
// choice, so the test waits on an event instead of polling.
type promptWatch struct {
	syncBuffer
	once     sync.Once
	prompted chan struct{}
}

func (p *promptWatch) Write(b []byte) (int, error) {
	n, err := p.syncBuffer.Write(b)
	if strings.Contains(p.syncBuffer.String(), "choice> ") {
		p.once.Do(func() { close(p.prompted) })
	}
	return n, err
}
