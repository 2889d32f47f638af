package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestProbeTimingAndReuse(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test") != "1" || r.Method != http.MethodPost || r.Host != "example.test" {
			http.Error(w, "headers not passed", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	}))
	defer srv.Close()
	p, err := NewProber(ProbeConfig{URL: srv.URL + "/f", Method: "POST", Header: http.Header{"X-Test": {"1"}, "Host": {"example.test"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var out bytes.Buffer
	first, err := p.Do(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != 200 || first.StatusText != "200 OK" || first.Proto != "HTTP/1.1" || first.Size != 5000 || !bytes.Equal(out.Bytes(), body) {
		t.Fatalf("first: %+v (body %d bytes)", first, out.Len())
	}
	tm := first.Timing
	if first.ConnReused || tm.Connect <= 0 || tm.FirstByte <= 0 || tm.Total < tm.FirstByte || tm.DNS != 0 || tm.TLS != 0 {
		t.Fatalf("first timing %+v reused %v", tm, first.ConnReused)
	}
	if first.RemoteAddr != srv.Listener.Addr().String() || first.Header.Get("Content-Type") != "text/plain" || first.Cache != "" {
		t.Fatalf("first: remote %s headers %v cache %q", first.RemoteAddr, first.Header, first.Cache)
	}
	second, err := p.Do(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !second.ConnReused || second.Timing.Connect != 0 {
		t.Fatalf("second request did not reuse the connection: %+v", second)
	}
}

func TestProbeTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "tls") }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is expected
	srv.StartTLS()
	defer srv.Close()
	t.Run("insecure", func(t *testing.T) {
		p, err := NewProber(ProbeConfig{URL: srv.URL, Insecure: true})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		r, err := p.Do(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Timing.TLS <= 0 || r.TLSVersion == "" || r.Size != 3 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("verify fails", func(t *testing.T) {
		p, err := NewProber(ProbeConfig{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		_, err = p.Do(context.Background(), nil)
		if ErrorKind(err) != KindTLS {
			t.Fatalf("err %v kind %q, want tls", err, ErrorKind(err))
		}
	})
}

// TestProbeMissThenHit uses a stand-in caching proxy: the first request is a
// miss that waits on the "origin", the second a hit.
func TestProbeMissThenHit(t *testing.T) {
	cached := false
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Host != "127.0.0.1:8000" {
			http.Error(w, "not absolute-form", http.StatusBadRequest)
			return
		}
		if cached {
			w.Header().Set("Cache-Status", "socklab; hit")
			w.Header().Set("X-Cache", "HIT")
		} else {
			time.Sleep(20 * time.Millisecond)
			w.Header().Set("Cache-Status", "socklab; fwd=uri-miss; stored")
			w.Header().Set("X-Cache", "MISS")
			cached = true
		}
		fmt.Fprint(w, "page")
	}))
	defer proxy.Close()
	p, err := NewProber(ProbeConfig{URL: "http://127.0.0.1:8000/", Proxy: proxy.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var got []string
	for range 2 {
		r, err := p.Do(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 200 {
			t.Fatalf("status %d", r.Status)
		}
		got = append(got, r.Cache)
	}
	if got[0] != CacheMiss || got[1] != CacheHit {
		t.Fatalf("verdicts %v, want MISS then HIT", got)
	}
}

func TestProbeErrors(t *testing.T) {
	p, err := NewProber(ProbeConfig{URL: "http://" + freeAddr(t) + "/"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Do(context.Background(), nil)
	if ErrorKind(err) != KindRefused {
		t.Fatalf("err %v, kind %q", err, ErrorKind(err))
	}
	if _, err := NewProber(ProbeConfig{URL: "localhost:8000"}); err == nil {
		t.Fatal("accepted a URL without scheme")
	}
}

func TestErrorKind(t *testing.T) {
	opErr := func(e error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e)}
	}
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{opErr(syscall.ECONNREFUSED), KindRefused},
		{opErr(syscall.ECONNRESET), KindReset},
		{opErr(syscall.EPIPE), KindReset},
		{opErr(syscall.EHOSTUNREACH), KindUnreachable},
		{&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, KindDNS},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), KindTimeout},
		{os.ErrDeadlineExceeded, KindTimeout},
		{context.Canceled, KindCanceled},
		{io.ErrUnexpectedEOF, KindEOF},
		{fmt.Errorf("wrapped: %w", io.EOF), KindEOF},
		{errors.New("something else"), KindOther},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := ErrorKind(tt.err); got != tt.want {
				t.Fatalf("ErrorKind(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestCacheVerdict(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want string
	}{
		{"none", http.Header{}, ""},
		{"cache-status hit", http.Header{"Cache-Status": {"socklab; hit"}}, CacheHit},
		{"cache-status miss", http.Header{"Cache-Status": {"socklab; fwd=uri-miss; stored"}}, CacheMiss},
		{"revalidated", http.Header{"Cache-Status": {"socklab; fwd=stale; fwd-status=304"}}, CacheRevalidated},
		{"hit false", http.Header{"Cache-Status": {"socklab; hit=?0; fwd=miss"}}, CacheMiss},
		{"last member wins", http.Header{"Cache-Status": {"origin-cache; hit, socklab; fwd=uri-miss"}}, CacheMiss},
		{"last field line wins", http.Header{"Cache-Status": {"cdn; fwd=miss", "socklab; hit"}}, CacheHit},
		{"quoted comma", http.Header{"Cache-Status": {`a; fwd=miss, socklab; hit; detail="x, y"`}}, CacheHit},
		{"x-cache", http.Header{"X-Cache": {"HIT"}}, CacheHit},
		{"x-cache squid", http.Header{"X-Cache": {"miss from proxy.lan"}}, CacheMiss},
		{"bare cache-status falls back", http.Header{"Cache-Status": {"socklab"}, "X-Cache": {"HIT"}}, CacheHit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CacheVerdict(tt.h); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzCacheVerdict(f *testing.F) {
	for _, s := range []string{"socklab; hit", `a; fwd=miss, b; hit; detail="x, \"y"`, ";;,,\"", "x; fwd=stale; fwd-status=304"} {
		f.Add(s, "HIT from x")
	}
	f.Fuzz(func(t *testing.T, cs, xc string) {
		v := CacheVerdict(http.Header{"Cache-Status": {cs}, "X-Cache": {xc}})
		if v == CacheHit && !bytes.Contains(bytes.ToLower([]byte(cs+xc)), []byte("hit")) {
			t.Fatalf("HIT from %q / %q", cs, xc)
		}
	})
}

func TestParseProxy(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080": "http://127.0.0.1:8080",
		"127.0.0.1:8080":        "http://127.0.0.1:8080",
		"localhost:8080":        "http://localhost:8080",
	} {
		u, err := ParseProxy(in)
		if err != nil || u.String() != want {
			t.Fatalf("ParseProxy(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x:1", "http://"} {
		if _, err := ParseProxy(bad); err == nil {
			t.Fatalf("ParseProxy(%q) accepted", bad)
		}
	}
}

func TestChecks(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := CheckTCP(ctx, ln.Addr().String(), time.Second); err != nil {
		t.Fatalf("tcp to a listener: %v", err)
	}
	if _, err := CheckTCP(ctx, freeAddr(t), time.Second); ErrorKind(err) != KindRefused {
		t.Fatalf("tcp to nothing: %v", err)
	}

	addr := reflector(t, nil)
	rtt, h, err := CheckUDPEcho(ctx, addr, time.Second)
	if err != nil || rtt <= 0 || !h.IsReply() || h.ReflCount != 1 {
		t.Fatalf("udp echo: rtt %v header %+v err %v", rtt, h, err)
	}
	// A reflector that drops everything: the check times out.
	silent := reflector(t, func(uint64) bool { return true })
	if _, _, err := CheckUDPEcho(ctx, silent, 50*time.Millisecond); ErrorKind(err) != KindTimeout {
		t.Fatalf("udp to a silent peer: %v (kind %q)", err, ErrorKind(err))
	}
	// A plain echo (no reflector stamps) is accepted too.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 2048)
		n, a, err := pc.ReadFrom(buf)
		if err == nil {
			pc.WriteTo(buf[:n], a)
		}
	}()
	if _, h, err := CheckUDPEcho(ctx, pc.LocalAddr().String(), time.Second); err != nil || h.IsReply() || h.Seq != 0 {
		t.Fatalf("plain echo: %+v %v", h, err)
	}
}
