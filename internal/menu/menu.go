// Package menu is the interactive client's numbered menu: it reads choices
// and answers line by line from an io.Reader, writes prompts and results to
// an io.Writer, and runs the action behind each option. The actions are
// injected (Actions), so the menu owns only the dialogue and is tested with
// fakes; the cli wires the real engines. It works the same in a terminal
// and with piped input ("printf '2\n0\n' | socklab client").
package menu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// QoSParams are the answers to option 3's questions.
type QoSParams struct {
	Count    int           // probes
	Interval time.Duration // between probes
	Size     int           // bytes per probe, header included
}

// Actions are what the options do. Each writes its own output to w and
// returns an error the menu prints before showing the menu again. A nil
// action is listed as unavailable.
type Actions struct {
	Connectivity func(ctx context.Context, w io.Writer) error              // 1
	HTTPRequest  func(ctx context.Context, w io.Writer) error              // 2
	QoS          func(ctx context.Context, w io.Writer, p QoSParams) error // 3
	MultiClient  func(ctx context.Context, w io.Writer, clients int) error // 4
	Ping         func(ctx context.Context, w io.Writer, host string) error // 5
	Traceroute   func(ctx context.Context, w io.Writer, host string) error // 6
}

// Config describes a menu. Zero values are usable.
type Config struct {
	In  io.Reader // nil reads nothing (the menu exits at once)
	Out io.Writer // nil discards
	// Banner is printed once above the first menu (the targets in use).
	Banner  string
	Actions Actions
	// QoS holds the defaults offered for option 3; zero fields mean 100
	// probes, 20ms apart, 64 bytes.
	QoS QoSParams
	// Clients is the default for option 4; 0 means 5.
	Clients int
	// Host is the default target of ping and traceroute; "" means 127.0.0.1.
	Host string
}

// Menu is one interactive session.
type Menu struct {
	cfg   Config
	out   io.Writer
	lines <-chan string
}

type option struct {
	key   string
	label string
	ok    bool
	run   func(ctx context.Context) (exit bool, err error)
}

// New fills the defaults of cfg.
func New(cfg Config) *Menu {
	if cfg.In == nil {
		cfg.In = strings.NewReader("")
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.QoS.Count <= 0 {
		cfg.QoS.Count = 100
	}
	if cfg.QoS.Interval <= 0 {
		cfg.QoS.Interval = 20 * time.Millisecond
	}
	if cfg.QoS.Size <= 0 {
		cfg.QoS.Size = 64
	}
	if cfg.Clients <= 0 {
		cfg.Clients = 5
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	return &Menu{cfg: cfg, out: cfg.Out}
}

// errEOF ends the session: the input is exhausted (or ctx is done). It is
// private so that no action's error can be mistaken for it.
var errEOF = errors.New("menu: input ended")

// Run shows the menu until the user picks 0, the input ends or ctx is
// cancelled; all three are a clean end (nil). Errors of actions are printed
// and the menu comes back.
func (m *Menu) Run(ctx context.Context) error {
	done := make(chan struct{})
	defer close(done)
	m.lines = readLines(m.cfg.In, done)

	if m.cfg.Banner != "" {
		fmt.Fprintln(m.out, m.cfg.Banner)
	}
	opts := m.options()
	for {
		m.printMenu(opts)
		line, err := m.ask(ctx, "choice> ")
		if err != nil {
			return nil
		}
		if line == "" {
			continue
		}
		var picked *option
		for i := range opts {
			if opts[i].key == line {
				picked = &opts[i]
			}
		}
		if picked == nil {
			fmt.Fprintf(m.out, "invalid choice %q: enter a number from 0 to %d\n", line, len(opts)-1)
			continue
		}
		if !picked.ok {
			fmt.Fprintf(m.out, "option %s (%s) is not available in this build\n", picked.key, picked.label)
			continue
		}
		exit, err := picked.run(ctx)
		switch {
		case errors.Is(err, errEOF):
			return nil
		case err != nil:
			fmt.Fprintf(m.out, "error: %v\n", err)
		}
		if exit || ctx.Err() != nil {
			return nil
		}
	}
}

func (m *Menu) options() []option {
	a := m.cfg.Actions
	return []option{
		{"1", "connectivity check", a.Connectivity != nil, func(ctx context.Context) (bool, error) {
			return false, a.Connectivity(ctx, m.out)
		}},
		{"2", "HTTP request through the proxy", a.HTTPRequest != nil, func(ctx context.Context) (bool, error) {
			return false, a.HTTPRequest(ctx, m.out)
		}},
		{"3", "UDP QoS test", a.QoS != nil, func(ctx context.Context) (bool, error) {
			p, err := m.askQoS(ctx)
			if err != nil {
				return false, err
			}
			return false, a.QoS(ctx, m.out, p)
		}},
		{"4", "multi-client simulation", a.MultiClient != nil, func(ctx context.Context) (bool, error) {
			n, err := m.askInt(ctx, "clients", m.cfg.Clients, 1, 1000)
			if err != nil {
				return false, err
			}
			return false, a.MultiClient(ctx, m.out, n)
		}},
		{"5", "ping", a.Ping != nil, func(ctx context.Context) (bool, error) {
			h, err := m.askString(ctx, "host", m.cfg.Host)
			if err != nil {
				return false, err
			}
			return false, a.Ping(ctx, m.out, h)
		}},
		{"6", "traceroute", a.Traceroute != nil, func(ctx context.Context) (bool, error) {
			h, err := m.askString(ctx, "host", m.cfg.Host)
			if err != nil {
				return false, err
			}
			return false, a.Traceroute(ctx, m.out, h)
		}},
		{"0", "exit", true, func(context.Context) (bool, error) { return true, nil }},
	}
}

func (m *Menu) printMenu(opts []option) {
	fmt.Fprintln(m.out)
	for _, o := range opts[:len(opts)-1] {
		suffix := ""
		if !o.ok {
			suffix = " (not available)"
		}
		fmt.Fprintf(m.out, "  %s) %s%s\n", o.key, o.label, suffix)
	}
	last := opts[len(opts)-1]
	fmt.Fprintf(m.out, "  %s) %s\n", last.key, last.label)
}

// ask prints prompt and returns the next trimmed input line, or errEOF.
func (m *Menu) ask(ctx context.Context, prompt string) (string, error) {
	fmt.Fprint(m.out, prompt)
	select {
	case line, ok := <-m.lines:
		if !ok {
			fmt.Fprintln(m.out)
			return "", errEOF
		}
		return strings.TrimSpace(line), nil
	case <-ctx.Done():
		fmt.Fprintln(m.out)
		return "", errEOF
	}
}

// askQoS asks option 3's questions, offering the defaults.
func (m *Menu) askQoS(ctx context.Context) (QoSParams, error) {
	d := m.cfg.QoS
	count, err := m.askInt(ctx, "probes", d.Count, 1, 1_000_000)
	if err != nil {
		return QoSParams{}, err
	}
	interval, err := m.askDuration(ctx, "interval", d.Interval)
	if err != nil {
		return QoSParams{}, err
	}
	size, err := m.askInt(ctx, "size in bytes", d.Size, 64, 65507)
	if err != nil {
		return QoSParams{}, err
	}
	return QoSParams{Count: count, Interval: interval, Size: size}, nil
}

// askInt asks for an integer in [lo, hi]; an empty line takes def, a bad
// answer is explained and asked again.
func (m *Menu) askInt(ctx context.Context, what string, def, lo, hi int) (int, error) {
	for {
		line, err := m.ask(ctx, fmt.Sprintf("%s [%d]: ", what, def))
		if err != nil {
			return 0, err
		}
		if line == "" {
			return def, nil
		}
		n, err := strconv.Atoi(line)
		if err == nil && n >= lo && n <= hi {
			return n, nil
		}
		fmt.Fprintf(m.out, "invalid %s %q: enter a whole number from %d to %d\n", what, line, lo, hi)
	}
}

// askDuration asks for a positive duration ("20ms", "0.5s"; a bare number
// is milliseconds, which the prompt says: socklab's flags read a bare
// number as seconds).
func (m *Menu) askDuration(ctx context.Context, what string, def time.Duration) (time.Duration, error) {
	for {
		line, err := m.ask(ctx, fmt.Sprintf("%s (ms, or with a unit) [%v]: ", what, def))
		if err != nil {
			return 0, err
		}
		if line == "" {
			return def, nil
		}
		if d, ok := parseDuration(line); ok {
			return d, nil
		}
		fmt.Fprintf(m.out, "invalid %s %q: enter a duration such as 20ms or 1s (a bare number is ms), at most 1m\n", what, line)
	}
}

func parseDuration(s string) (time.Duration, bool) {
	if ms, err := strconv.ParseFloat(s, 64); err == nil {
		s = strconv.FormatFloat(ms, 'f', -1, 64) + "ms"
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > time.Minute {
		return 0, false
	}
	return d, true
}

// askString asks for a word; an empty line takes def.
func (m *Menu) askString(ctx context.Context, what, def string) (string, error) {
	for {
		line, err := m.ask(ctx, fmt.Sprintf("%s [%s]: ", what, def))
		if err != nil {
			return "", err
		}
		if line == "" {
			return def, nil
		}
		if !strings.ContainsAny(line, " \t") {
			return line, nil
		}
		fmt.Fprintf(m.out, "invalid %s %q: one word, no spaces\n", what, line)
	}
}

// readLines feeds the input's lines to a channel, closed at EOF or on a read
// error. It stops early when done closes (a blocked read of a terminal
// still waits for its line; the process is exiting by then).
func readLines(r io.Reader, done <-chan struct{}) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 4096), 64<<10)
		for sc.Scan() {
			select {
			case ch <- sc.Text():
			case <-done:
				return
			}
		}
	}()
	return ch
}
