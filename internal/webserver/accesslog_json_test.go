package webserver

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAccessLogJSON(t *testing.T) {
	var buf syncBuffer
	addr, _, _ := startServer(t, Config{Root: testRoot(t), AccessLog: &buf, AccessLogJSON: true})
	sendRaw(t, addr, "GET /hello.txt?q=1 HTTP/1.1\r\nHost: a\r\nReferer: http://example.test/start\r\n"+
		"User-Agent: evil\"agent\r\nConnection: close\r\n\r\n")
	rawGet(t, addr, "/missing")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), buf.String())
	}
	var first, second jsonAccess
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("%q: %v", lines[0], err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatalf("%q: %v", lines[1], err)
	}
	if first.Msg != "access" || first.Client != "127.0.0.1" || first.Method != "GET" || first.URI != "/hello.txt?q=1" ||
		first.Status != 200 || first.Bytes != 13 || first.Referer != "http://example.test/start" || first.Time == "" || first.UserAgent != `evil"agent` {
		t.Errorf("first line %+v", first)
	}
	if second.URI != "/missing" || second.Status != 404 {
		t.Errorf("second line %+v", second)
	}
}
