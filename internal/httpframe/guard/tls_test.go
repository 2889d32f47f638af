package guard

import (
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
	"testing"
	"time"

	"github.com/socklab/socklab/internal/httpframe"
)

// testCert is a self-signed certificate for 127.0.0.1, made for the test.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestTLSListener: HTTP/1.1 inside TLS is guarded (and the handler still
// sees r.TLS), h2 is handed to net/http's HTTP/2 server untouched, and a
// client stalled in its handshake holds up no other.
func TestTLSListener(t *testing.T) {
	cert, pool := testCert(t)
	g := New(httpframe.Limits{})
	cfg := TLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}})
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := g.TLSListener(raw, cfg, 5*time.Second, nil)
	srv := &http.Server{TLSConfig: cfg, ConnContext: g.ConnContext, Handler: g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			io.WriteString(w, "no TLS state")
			return
		}
		io.WriteString(w, r.Proto+" alpn="+r.TLS.NegotiatedProtocol)
	}))}
	go srv.Serve(ln)
	defer srv.Close()
	stalled, err := net.Dial("tcp", raw.Addr().String()) // never says hello
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	for _, tc := range []struct {
		alpn []string
		want string
	}{{[]string{"http/1.1"}, "HTTP/1.1 alpn=http/1.1"}, {[]string{"h2"}, "HTTP/2.0 alpn=h2"}} {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: tc.alpn}, ForceAttemptHTTP2: tc.alpn[0] == "h2"}}
		resp, err := client.Get("https://" + raw.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tc.want {
			t.Errorf("ALPN %v: %q, want %q", tc.alpn, b, tc.want)
		}
	}
	c, err := tls.Dial("tcp", raw.Addr().String(), &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
	b, _ := io.ReadAll(c)
	if got := string(b); len(got) < 12 || got[:12] != "HTTP/1.1 400" {
		t.Errorf("CL and TE over TLS: %q, want a 400", got)
	}
}
