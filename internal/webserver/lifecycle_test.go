package webserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestSlowClients: a thousand connections that send nothing or dribble half
// a request do not keep a normal client from being served, with the
// default cap and with a cap far below the crowd (evicting the idle).
func TestSlowClients(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxConns int
	}{{"default cap", 0}, {"cap 50", 50}} {
		t.Run(tc.name, func(t *testing.T) {
			addr, s, _ := startServer(t, Config{FS: DefaultSite(), MaxConns: tc.maxConns})
			var crowd []net.Conn
			t.Cleanup(func() {
				for _, c := range crowd {
					c.Close()
				}
			})
			for i := 0; i < 1000; i++ {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					t.Fatalf("conn %d: %v", i, err)
				}
				if i%2 == 1 { // slowloris: headers started, never finished
					io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
				}
				crowd = append(crowd, c)
			}
			client := &http.Client{Timeout: 10 * time.Second}
			resp, err := client.Get("http://" + addr + "/")
			if err != nil {
				t.Fatalf("normal client behind 1000 idle ones: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), "socklab") {
				t.Fatalf("normal client: %d", resp.StatusCode)
			}
			if tc.maxConns > 0 {
				if n := s.conns.Open(); n > tc.maxConns {
					t.Fatalf("%d connections open, cap %d", n, tc.maxConns)
				}
			}
		})
	}
}

// TestMaxConnsRefusesWhenAllBusy: with every slot in a request, a newcomer
// is refused rather than evicting work in progress.
func TestMaxConnsRefusesWhenAllBusy(t *testing.T) {
	addr, _, _ := startServer(t, Config{MaxConns: 1})
	// Occupy the only slot with a download the client does not read.
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	io.WriteString(busy, "GET /_socklab/bytes?n=1GB HTTP/1.1\r\nHost: x\r\n\r\n")
	busy.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(busy, make([]byte, 1)); err != nil { // the response has begun: the slot is active
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if resp, err := client.Get("http://" + addr + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("got %d with the only slot busy, want the connection refused", resp.StatusCode)
	}
}

// TestGracefulShutdown: a download in flight when shutdown starts completes
// in full, then Serve returns nil and the port is closed.
func TestGracefulShutdown(t *testing.T) {
	addr, _, stop := startServer(t, Config{Grace: 30 * time.Second})
	const n = 64 << 20 // far more than the socket buffers hold
	resp, err := http.Get("http://" + addr + "/_socklab/bytes?n=" + itoa(n))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Wait until the listener is closed: shutdown has begun while the
	// download is still in flight.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if i > 1000 {
			t.Fatal("listener still open after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	rest, err := io.Copy(io.Discard, resp.Body)
	if err != nil || rest+1024 != n {
		t.Fatalf("in-flight download cut short: %d of %d bytes (%v)", rest+1024, n, err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve after graceful shutdown: %v", err)
	}
}

// TestGraceExpires: a client that never reads cannot hold shutdown past
// the grace period.
func TestGraceExpires(t *testing.T) {
	addr, _, stop := startServer(t, Config{Grace: 50 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /_socklab/bytes?n=1GB HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	// The stuck connection was closed: reading drains what was buffered, then ends.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("stuck connection not closed: %v", err)
	}
}

func TestHTTP2OverTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	addr, _, _ := startServer(t, Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: "localhost"},
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get("https://" + addr + "/style.css")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// HTTP/1.1 still works for clients without ALPN h2.
	c1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"http/1.1"}}}}
	resp1, err := c1.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp1.Body.Close()
	if resp1.ProtoMajor != 1 {
		t.Fatalf("protocol %s, want HTTP/1.1", resp1.Proto)
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	addr, s, _ := startServer(t, Config{Root: testRoot(t), Registerer: reg})
	for _, p := range []string{"/hello.txt", "/hello.txt", "/missing"} {
		rawGet(t, addr, p)
	}
	sendRaw(t, addr, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
	for _, tc := range []struct {
		method, code string
		want         float64
	}{{"GET", "200", 2}, {"GET", "404", 1}, {"POST", "405", 1}} {
		if got := gathered(t, reg, "socklab_serve_http_requests_total", "method", tc.method, "code", tc.code); got != tc.want {
			t.Errorf("requests{%s,%s} = %v, want %v", tc.method, tc.code, got, tc.want)
		}
	}
	if got := gathered(t, reg, "socklab_serve_http_response_bytes_total"); got < 26 {
		t.Errorf("response bytes %v, want at least 26", got)
	}
	if got := gathered(t, reg, "socklab_serve_http_request_duration_seconds", "method", "GET"); got != 3 {
		t.Errorf("duration histogram count %v, want 3", got)
	}
	if got := gathered(t, reg, "socklab_serve_http_connections"); got < 0 {
		t.Errorf("connections gauge %v", got)
	}
	_ = s
	// A second server on the same registry is an error, not a panic.
	if _, err := New(Config{Registerer: reg}); err == nil {
		t.Errorf("registering twice: no error")
	}
}

var _ = context.Background

// gathered returns the value (counter, gauge, or histogram sample count) of
// the series of family name whose labels include the given pairs.
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// TestHeaderLimits: a client that never finishes its headers is cut off
// after ReadHeaderTimeout, and oversized headers get 431.
func TestHeaderLimits(t *testing.T) {
	addr, _, _ := startServer(t, Config{ReadHeaderTimeout: 100 * time.Millisecond, MaxHeaderBytes: 4096})
	t.Run("slow headers", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(c) // returns when the server closes
		if err != nil {
			t.Fatalf("connection not closed by the server: %v", err)
		}
		if strings.Contains(string(b), "200 OK") {
			t.Fatalf("served an unfinished request: %q", b)
		}
	})
	t.Run("huge headers", func(t *testing.T) {
		resp := sendRaw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 16<<10)+"\r\n\r\n")
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	})
}
