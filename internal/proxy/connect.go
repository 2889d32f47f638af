package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/socklab/socklab/internal/httpcache"
)

// serveConnect opens a byte tunnel to the CONNECT target (RFC 9110 §9.3.6)
// when its port is allowed, dialing through the destination ACL.
func (p *Proxy) serveConnect(w *respWriter, r *http.Request) {
	t := &target{name: r.Host}
	_, portStr, err := net.SplitHostPort(r.Host)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil {
		p.plainError(w, http.StatusBadRequest, fmt.Sprintf("CONNECT target %q is not host:port", r.Host))
		return
	}
	if !p.connectPorts[port] {
		p.counters.denied.Add(1)
		p.fail(w, r, &Error{Status: http.StatusForbidden, Err: ErrPortRefused,
			Msg: fmt.Sprintf("CONNECT to port %d is not allowed", port)})
		return
	}
	// Counted before the hijack, while http.Server.Shutdown still sees
	// this connection as active, so Serve's wait cannot miss it.
	p.tunnelsWG.Add(1)
	defer p.tunnelsWG.Done()
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	up, err := p.dialer.DialContext(ctx, "tcp", r.Host)
	cancel()
	if err != nil {
		p.upstreamError(w, r, t, err)
		return
	}
	client, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		_ = up.Close()
		p.plainError(w, http.StatusInternalServerError, "cannot take over the connection: "+err.Error())
		return
	}
	w.status, w.cache = http.StatusOK, "TUNNEL"
	p.counters.tunnels.Add(1)
	p.counters.tunnelsActive.Add(1)
	defer p.counters.tunnelsActive.Add(-1)
	p.track(client, true)
	p.track(up, true)
	defer p.track(client, false)
	defer p.track(up, false)
	defer client.Close()
	defer up.Close()

	// The marks every proxy response carries, on the tunnel's 200 too.
	cs := httpcache.CacheStatus{Cache: p.name, Fwd: httpcache.FwdBypass, Detail: "tunnel"}
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\nVia: "+p.via+"\r\nCache-Status: "+cs.String()+"\r\nX-Cache: MISS\r\nAge: 0\r\n\r\n"); err != nil {
		return
	}
	// Bytes the client sent after its CONNECT request, already buffered.
	if n := brw.Reader.Buffered(); n > 0 {
		buffered, _ := brw.Reader.Peek(n)
		if _, err := up.Write(buffered); err != nil {
			return
		}
	}
	var wg sync.WaitGroup
	var toClient int64
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(up, client)
		closeWrite(up)
	}()
	go func() {
		defer wg.Done()
		toClient, _ = io.Copy(client, up)
		closeWrite(client)
	}()
	wg.Wait()
	w.bytes = toClient
}

// closeWrite half-closes c when it can (TCP), else closes it, so the other
// direction of a tunnel can still drain.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}

// track registers an open tunnel connection so shutdown can close it.
func (p *Proxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.tunnels[c] = struct{}{}
	} else {
		delete(p.tunnels, c)
	}
}
