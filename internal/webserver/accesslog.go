package webserver

import (
	"encoding/json"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// accessLog writes one line per request in the Combined Log Format of
// Apache and nginx:
//
//	host ident user [time] "request line" status bytes "referer" "user agent"
//
// Each line goes out in a single Write, so lines never interleave.
type accessLog struct {
	mu   sync.Mutex
	w    io.Writer
	json bool // one JSON object per line instead
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func (l *accessLog) log(r *request, status int, size int64, t time.Time) {
	bp := linePool.Get().(*[]byte)
	var b []byte
	if l.json {
		b = appendJSONAccess((*bp)[:0], r, status, size, t)
	} else {
		b = appendCombined((*bp)[:0], r, status, size, t)
	}
	l.mu.Lock()
	_, _ = l.w.Write(b)
	l.mu.Unlock()
	*bp = b
	linePool.Put(bp)
}

// jsonAccess is the JSON form of a Combined Log Format line; time, level and
// msg come first as in slog's JSON lines, so one stream reads uniformly.
type jsonAccess struct {
	Time      string `json:"time"`
	Level     string `json:"level"`
	Msg       string `json:"msg"`
	Client    string `json:"client"`
	Method    string `json:"method"`
	URI       string `json:"uri"`
	Proto     string `json:"proto"`
	Status    int    `json:"status"`
	Bytes     int64  `json:"bytes"`
	Referer   string `json:"referer"`
	UserAgent string `json:"user_agent"`
}

func appendJSONAccess(b []byte, r *request, status int, size int64, t time.Time) []byte {
	host := r.clientHost()
	// encoding/json escapes control bytes and invalid UTF-8, so a hostile
	// request cannot forge a line here either.
	line, _ := json.Marshal(jsonAccess{
		Time: t.Format("2006-01-02T15:04:05.000Z07:00"), Level: "INFO", Msg: "access",
		Client: host, Method: r.method, URI: r.uri, Proto: r.proto, Status: status,
		Bytes: size, Referer: r.header.get("Referer"), UserAgent: r.header.get("User-Agent"),
	})
	return append(append(b, line...), '\n')
}

func appendCombined(b []byte, r *request, status int, size int64, t time.Time) []byte {
	host := r.clientHost()
	b = appendField(b, host)
	b = append(b, " - - ["...)
	b = t.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, "] \""...)
	b = appendField(b, r.method)
	b = append(b, ' ')
	b = appendField(b, r.uri)
	b = append(b, ' ')
	b = appendField(b, r.proto)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	if size > 0 {
		b = strconv.AppendInt(b, size, 10)
	} else {
		b = append(b, '-')
	}
	b = append(b, " \""...)
	b = appendQuoted(b, r.header.get("Referer"))
	b = append(b, "\" \""...)
	b = appendQuoted(b, r.header.get("User-Agent"))
	b = append(b, "\"\n"...)
	return b
}

// appendField writes s with quotes, backslashes and control bytes escaped
// (and bytes above 0x7e) as \xHH, so a hostile request cannot forge log lines (nginx does the same).
func appendField(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
}

func appendQuoted(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendField(b, s)
}

// clientAddr is the client's address as host:port.
func (r *request) clientAddr() string {
	if r.remote == "" && r.addr != nil {
		r.remote = r.addr.String()
	}
	return r.remote
}

// clientHost is the client's address without its port.
func (r *request) clientHost() string {
	if r.remote == "" {
		if ta, ok := r.addr.(*net.TCPAddr); ok {
			return ta.IP.String()
		}
	}
	host, _, err := net.SplitHostPort(r.clientAddr())
	if err != nil {
		return r.remote
	}
	return host
}
