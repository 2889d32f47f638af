package webserver

import (
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"sync"
)

// Small files are served from memory: for a 1 KiB file, open, fstat, two
// lseeks, read, close and a failed epoll registration cost more than the
// response itself. Every request still stats the name through the os.Root
// (same confinement), and an entry is used only while the file is the same
// file (device and inode) with the same size and modification time, so an
// edited or replaced file is picked up at once.
const (
	smallFileMax   = 64 << 10
	smallCacheSize = 64 << 20
)

type smallCache struct {
	mu    sync.RWMutex
	size  int
	items map[string]*smallFile
}

type smallFile struct {
	info fs.FileInfo
	etag string
	body []byte
	// Header values prepared once for the fast path (see writeSmall). The
	// slices have len == cap, so an Add by anyone copies rather than writes
	// into them.
	hdr map[string][]string
}

func newSmallCache() *smallCache { return &smallCache{items: map[string]*smallFile{}} }

// get returns the cached file for name if st still describes it.
func (c *smallCache) get(name string, st fs.FileInfo) *smallFile {
	c.mu.RLock()
	f := c.items[name]
	c.mu.RUnlock()
	if f == nil || f.info.Size() != st.Size() || !f.info.ModTime().Equal(st.ModTime()) || !os.SameFile(f.info, st) {
		return nil
	}
	return f
}

// load reads name (whose stat is st) and caches it. It returns nil when the
// file changed between the stat and the read, or is not a regular file.
func (c *smallCache) load(files fs.FS, name string, st fs.FileInfo, etag string) *smallFile {
	f, err := files.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	ost, err := f.Stat()
	if err != nil || !ost.Mode().IsRegular() || !os.SameFile(ost, st) || ost.Size() != st.Size() || !ost.ModTime().Equal(st.ModTime()) {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(f, smallFileMax+1))
	if err != nil || int64(len(body)) != st.Size() {
		return nil
	}
	sf := &smallFile{info: st, etag: etag, body: body, hdr: map[string][]string{
		"Content-Type":   {contentType(name)},
		"Content-Length": {strconv.Itoa(len(body))},
		"Etag":           {etag},
		"Accept-Ranges":  {"bytes"},
	}}
	if !st.ModTime().IsZero() {
		sf.hdr["Last-Modified"] = []string{st.ModTime().UTC().Format(http.TimeFormat)}
	}
	if compressible(contentType(name)) {
		sf.hdr["Vary"] = []string{"Accept-Encoding"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.items[name]; old != nil {
		c.size -= len(old.body)
		delete(c.items, name)
	}
	for k, e := range c.items { // full: drop arbitrary entries
		if c.size+len(body) <= smallCacheSize {
			break
		}
		c.size -= len(e.body)
		delete(c.items, k)
	}
	c.items[name] = sf
	c.size += len(body)
	return sf
}

// plainRequest reports whether r asks for the whole file with no condition
// and no encoding to negotiate: then the answer is fixed and writeSmall can
// send it without http.ServeContent's parsing and formatting.
func plainRequest(r *http.Request, compressible bool) bool {
	h := r.Header
	for _, k := range [...]string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
		if _, ok := h[k]; ok {
			return false
		}
	}
	return !compressible || !acceptsGzip(h.Get("Accept-Encoding"))
}

// writeSmall sends a cached small file as a plain 200: the same headers
// ServeContent would send, prepared in advance, and the body in one write.
func writeSmall(w http.ResponseWriter, r *http.Request, sf *smallFile) {
	h := w.Header()
	for k, v := range sf.hdr {
		h[k] = v
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(sf.body)
	}
}
