package webserver

import (
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
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
	// Header values prepared once for the fast path (see writeSmall).
	ctype, lastModified, vary string
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
	name = strings.Clone(name) // it may alias the request's buffer
	// ost, not st: st's name may alias the request's buffer.
	sf := &smallFile{info: ost, etag: etag, body: body, ctype: contentType(name)}
	if !isZeroTime(ost.ModTime()) {
		sf.lastModified = ost.ModTime().UTC().Format(http.TimeFormat)
	}
	if compressible(sf.ctype) {
		sf.vary = "Accept-Encoding"
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

// writeSmall answers with a cached small file as a plain 200: the same
// header fields serveContent sends, prepared in advance, and the body from
// memory.
func writeSmall(rep *reply, sf *smallFile) {
	rep.set("Content-Type", sf.ctype)
	if sf.vary != "" {
		rep.add("Vary", sf.vary)
	}
	rep.set("ETag", sf.etag)
	if sf.lastModified != "" {
		rep.set("Last-Modified", sf.lastModified)
	}
	rep.set("Accept-Ranges", "bytes")
	rep.status = http.StatusOK
	rep.setBody(sf.body)
}
