package stack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/proxy"
)

// TestServeStack builds serve on 127.0.0.1:0, learns its addresses from
// the OnListen hook, uses both services and stops it.
func TestServeStack(t *testing.T) {
	var mu sync.Mutex
	bound := map[string]string{}
	ctx := WithOnListen(context.Background(), func(name string, a net.Addr) {
		mu.Lock()
		defer mu.Unlock()
		bound[name] = a.String()
	})
	g := NewGroup(ctx)
	st, err := BuildServe(g.Context(), ServeConfig{HTTP: "127.0.0.1:0", UDP: "127.0.0.1:0", AccessLog: "off"})
	if err != nil {
		t.Fatal(err)
	}
	st.Start(g)
	defer func() {
		if err := g.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	mu.Lock()
	web, udp := bound["serve http"], bound["serve udp"]
	mu.Unlock()
	if "http://"+web != st.URL || udp != st.UDPAddr() {
		t.Fatalf("hook saw %q %q; stack says %q %q", web, udp, st.URL, st.UDPAddr())
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(st.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %s", resp.Status)
	}
	conn, err := net.Dial("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write([]byte("echo"))
	buf := make([]byte, 16)
	if n, err := conn.Read(buf); err != nil || string(buf[:n]) != "echo" {
		t.Fatalf("udp echo %q, %v", buf[:n], err)
	}
}

// TestProxyStoreRefused: a store the stack cannot open is a FieldError of
// Store.Spec that exits 2, and the HTTP socket bound so far is released.
func TestProxyStoreRefused(t *testing.T) {
	_, err := BuildProxy(context.Background(), ProxyConfig{HTTP: "127.0.0.1:0", AccessLog: "off", Store: StoreConfig{Spec: "disk", Size: 1 << 20}})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "Store.Spec" || !errors.Is(err, errs.ErrInvalidConfig) || !strings.Contains(err.Error(), `"disk"`) {
		t.Fatalf("BuildProxy = %v, want a Store.Spec FieldError naming \"disk\"", err)
	}
}

func TestAccessJSON(t *testing.T) {
	line := accessJSON(proxy.AccessEntry{Time: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC), Client: "127.0.0.1", Method: "GET",
		URL: "/x", Status: 200, Bytes: 5, Duration: 1500 * time.Microsecond, Cache: "HIT"})
	var doc map[string]any
	if err := json.Unmarshal([]byte(line), &doc); err != nil || !strings.HasSuffix(line, "}\n") {
		t.Fatalf("%q: %v", line, err)
	}
	if doc["msg"] != "access" || doc["cache"] != "HIT" || doc["duration_ms"] != 1.5 || doc["time"] != "2026-12-02T12:00:00.000Z" {
		t.Fatalf("%v", doc)
	}
}

func TestOpenLog(t *testing.T) {
	var stderr strings.Builder
	for spec, want := range map[string]io.Writer{"-": &stderr, "off": nil, "": nil} {
		w, closeFn, err := openLog(spec, &stderr)
		if err != nil || w != want {
			t.Errorf("openLog(%q) = %v, %v", spec, w, err)
		}
		closeFn()
	}
	if _, _, err := openLog(t.TempDir()+"/no/such/dir/log", &stderr); err == nil || !strings.Contains(err.Error(), "access log") {
		t.Fatalf("unwritable log: %v", err)
	}
}
