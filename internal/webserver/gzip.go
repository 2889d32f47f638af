package webserver

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"mime"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// mimeTypes fixes the types of common web files, so answers do not depend on
// the host's /etc/mime.types; other extensions fall back to the mime package,
// then to application/octet-stream (never to content sniffing).
var mimeTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".htm":   "text/html; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".json":  "application/json",
	".txt":   "text/plain; charset=utf-8",
	".md":    "text/markdown; charset=utf-8",
	".csv":   "text/csv; charset=utf-8",
	".xml":   "application/xml",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".jpeg":  "image/jpeg",
	".gif":   "image/gif",
	".webp":  "image/webp",
	".avif":  "image/avif",
	".ico":   "image/x-icon",
	".pdf":   "application/pdf",
	".wasm":  "application/wasm",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".mp4":   "video/mp4",
	".webm":  "video/webm",
	".mp3":   "audio/mpeg",
	".zip":   "application/zip",
	".gz":    "application/gzip",
	".tar":   "application/x-tar",
	".bin":   "application/octet-stream",
	".pcap":  "application/vnd.tcpdump.pcap",
}

func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := mimeTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// compressible reports whether a type is worth gzipping (text, not images
// or archives that are compressed already).
func compressible(ctype string) bool {
	t, _, _ := strings.Cut(ctype, ";")
	switch {
	case strings.HasPrefix(t, "text/"):
		return true
	case t == "application/json", t == "application/xml", t == "image/svg+xml",
		t == "application/wasm", t == "application/javascript":
		return true
	}
	return false
}

// acceptsGzip reads Accept-Encoding (RFC 9110 §12.5.3): gzip, x-gzip or "*"
// listed with a non-zero quality.
func acceptsGzip(header string) bool {
	for header != "" {
		var item string
		item, header, _ = strings.Cut(header, ",")
		coding, params, _ := strings.Cut(item, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			return true
		}
	}
	return false
}

// Limits for compressing on the fly: tiny bodies do not shrink, big ones
// cost more CPU per request than they save (ship a .gz beside them).
const (
	minGzipSize = 256
	maxGzipSize = 4 << 20
)

// serveGzip answers with a gzip representation if there is one and reports
// whether it did. Ranges and conditionals then apply to the compressed
// bytes, which have their own validator (RFC 9110 §8.8.3). It leaves f to
// the caller.
func (s *Server) serveGzip(rep *reply, r *request, name string, f io.ReadSeeker, st fs.FileInfo, etag string) bool {
	if gf, gst, err := s.open(name + ".gz"); err == nil {
		if rs, ok := gf.(io.ReadSeeker); ok && gst.Mode().IsRegular() {
			rep.set("Content-Encoding", "gzip")
			rep.set("ETag", s.etag(name+".gz", gst))
			serveContent(rep, r, rep.get("Content-Type"), gst.ModTime(), gst.Size(), rs)
			return true
		}
		gf.Close()
	}
	if st.Size() < minGzipSize || st.Size() > maxGzipSize {
		return false
	}
	body, ok := s.gz.get(name, etag)
	if !ok {
		raw, err := io.ReadAll(io.LimitReader(f, maxGzipSize+1))
		if err != nil || int64(len(raw)) != st.Size() {
			_, _ = f.Seek(0, io.SeekStart) // the caller sends it whole
			return false
		}
		body = gzipBytes(raw)
		s.gz.put(strings.Clone(name), etag, body)
	}
	rep.set("Content-Encoding", "gzip")
	rep.set("ETag", etag[:len(etag)-1]+`-gz"`)
	serveContent(rep, r, rep.get("Content-Type"), st.ModTime(), int64(len(body)), bytes.NewReader(body))
	return true
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression) // the level is valid
	zw.ModTime = time.Time{}
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// gzipCache keeps compressed bodies keyed by name and validator, bounded
// in total bytes. It evicts arbitrary entries when full: the working set of
// a static site's text files is small, so anything smarter is not needed.
type gzipCache struct {
	mu    sync.Mutex
	max   int
	size  int
	items map[string]gzipEntry
}

type gzipEntry struct {
	etag string
	body []byte
}

func newGzipCache(max int) *gzipCache {
	return &gzipCache{max: max, items: map[string]gzipEntry{}}
}

func (c *gzipCache) get(name, etag string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[name]
	if !ok || e.etag != etag {
		return nil, false
	}
	return e.body, true
}

func (c *gzipCache) put(name, etag string, body []byte) {
	if len(body) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.items[name]; ok {
		c.size -= len(old.body)
		delete(c.items, name)
	}
	for k, e := range c.items {
		if c.size+len(body) <= c.max {
			break
		}
		c.size -= len(e.body)
		delete(c.items, k)
	}
	c.items[name] = gzipEntry{etag: etag, body: body}
	c.size += len(body)
}
