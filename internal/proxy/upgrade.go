package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/socklab/socklab/internal/httpcache"
)

// upgradeRequested reports whether r asks to switch to WebSocket (RFC 9110
// §7.8, RFC 6455 §4.1): Upgrade: websocket, named in Connection as the
// field requires. Other upgrades (h2c from curl --http2, TLS/1.0) are
// offers a proxy may decline: they stay hop-by-hop fields, dropped, and the
// request is served as usual — from the cache when it can be.
func upgradeRequested(r *http.Request) bool {
	proto, _, _ := strings.Cut(r.Header.Get("Upgrade"), ",")
	if name, _, _ := strings.Cut(strings.TrimSpace(proto), "/"); !strings.EqualFold(name, "websocket") {
		return false
	}
	for _, line := range r.Header["Connection"] {
		for _, tok := range strings.Split(line, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// serveUpgrade relays a protocol upgrade (WebSocket, RFC 6455) to the
// target, reverse or forward alike. When the upstream answers 101, the two
// connections are spliced both ways until either side closes; any other
// answer is relayed as an ordinary, never stored response. Nothing of an
// upgrade is cached.
func (p *Proxy) serveUpgrade(w *respWriter, r *http.Request, t *target) {
	out := p.outgoing(r.Context(), r, t) // hop-by-hop fields removed...
	proto := r.Header.Get("Upgrade")
	out.Header["Connection"] = []string{"Upgrade"} // ...and the upgrade put back
	out.Header["Upgrade"] = []string{proto}
	resp, err := p.upgradeTransport(t).RoundTrip(out)
	if err != nil {
		if r.Context().Err() == nil {
			p.upstreamError(w, r, t, err)
		}
		return
	}
	cs := httpcache.CacheStatus{Cache: p.name, Fwd: httpcache.FwdBypass, FwdStatus: resp.StatusCode, Detail: "upgrade"}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		h := w.Header()
		for k, v := range resp.Header {
			h[k] = v
		}
		httpcache.RemoveHopByHop(h)
		p.mark(h, 0, cs, "MISS")
		p.counters.misses.Add(1)
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}
	back, ok := resp.Body.(io.ReadWriteCloser)
	if !ok || !strings.EqualFold(resp.Header.Get("Upgrade"), proto) {
		resp.Body.Close()
		p.plainError(w, http.StatusBadGateway, fmt.Sprintf("upstream %s switched to %q, not the %q asked for", t.name, resp.Header.Get("Upgrade"), proto))
		return
	}
	defer back.Close()
	p.splice(w, resp, back, cs)
}

// splice hands the client connection over to the upgraded protocol: the
// 101 goes out, then bytes flow both ways until either side closes; the
// bytes sent to the client are counted for the access log, as for CONNECT.
func (p *Proxy) splice(w *respWriter, resp *http.Response, back io.ReadWriteCloser, cs httpcache.CacheStatus) {
	// Counted before the hijack, while http.Server.Shutdown still sees
	// this connection, so Serve's wait cannot miss it.
	p.tunnelsWG.Add(1)
	defer p.tunnelsWG.Done()
	client, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		p.plainError(w, http.StatusInternalServerError, "cannot take over the connection: "+err.Error())
		return
	}
	defer client.Close()
	w.status, w.cache, w.cs = http.StatusSwitchingProtocols, "TUNNEL", cs.String()
	p.counters.tunnels.Add(1)
	p.counters.tunnelsActive.Add(1)
	defer p.counters.tunnelsActive.Add(-1)
	p.track(client, true)
	defer p.track(client, false)

	h := resp.Header.Clone()
	httpcache.RemoveHopByHop(h)
	h["Connection"] = []string{"Upgrade"}
	h["Upgrade"] = resp.Header["Upgrade"]
	p.mark(h, 0, cs, "MISS")
	delete(h, "Content-Type")
	if _, err := fmt.Fprintf(brw.Writer, "HTTP/1.1 101 %s\r\n", http.StatusText(http.StatusSwitchingProtocols)); err != nil {
		return
	}
	if h.Write(brw.Writer) != nil || writeCRLF(brw.Writer) != nil || brw.Writer.Flush() != nil {
		return
	}
	var toClient atomic.Int64
	var once sync.Once
	stop := func() { once.Do(func() { _ = client.Close(); _ = back.Close() }) }
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer stop()
		_, _ = io.Copy(back, brw.Reader) // what the client sent early is buffered there
	}()
	go func() {
		defer wg.Done()
		defer stop()
		n, _ := io.Copy(client, back)
		toClient.Store(n)
	}()
	wg.Wait()
	w.bytes = toClient.Load()
}

func writeCRLF(bw *bufio.Writer) error {
	_, err := bw.WriteString("\r\n")
	return err
}

// upgradeTransport is the round tripper for upgrades to t: Config.Transport
// when set, else one like the proxy's own for t (the upstream's dialer, or
// the one checking client-chosen destinations) but without the per-read
// timeout, which would cut an idle WebSocket (the response-header timeout
// still bounds the handshake).
func (p *Proxy) upgradeTransport(t *target) http.RoundTripper {
	if p.cfg.Transport != nil {
		return p.cfg.Transport
	}
	p.upgradeOnce.Do(func() {
		mk := func(d *net.Dialer) *http.Transport {
			return &http.Transport{
				DialContext:            d.DialContext,
				MaxIdleConns:           16,
				IdleConnTimeout:        p.timeout,
				ResponseHeaderTimeout:  p.timeout,
				TLSHandshakeTimeout:    p.timeout,
				DisableCompression:     true,
				MaxResponseHeaderBytes: int64(p.maxRespHead),
			}
		}
		p.upgrader, p.upUpgrader = mk(p.dialer), mk(p.upDialer)
	})
	if t.reverse {
		return p.upUpgrader
	}
	return p.upgrader
}
