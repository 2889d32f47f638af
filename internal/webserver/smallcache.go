package webserver

import (
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Small files are served from memory: for a 1 KiB file, open, fstat, two
// lseeks, read, close and a failed epoll registration cost more than the
// response itself. An entry is used only while it is the file the name
// names now, so an edited, replaced or removed file is seen by the next
// request. Where inotify can watch the file and every folder on its path
// (smallwatch_linux.go), a hit costs one FIONREAD that says nothing
// changed; elsewhere every request stats the name through the os.Root
// (same confinement), and the entry is used while the file is the same
// file (device and inode) with the same size and modification time.
const (
	smallFileMax   = 64 << 10
	smallCacheSize = 64 << 20
	// watchRecheck is how often a watched entry is stat-checked anyway,
	// for the changes inotify does not report (writes through a shared
	// mapping, a mount over a served folder).
	watchRecheck = time.Second
)

type smallCache struct {
	w     *watcher // nil: no inotify, every hit stats
	mu    sync.RWMutex
	size  int
	items map[string]*smallFile
}

type smallFile struct {
	name string
	info fs.FileInfo
	etag string
	body []byte
	// Header values prepared once for the fast path (see writeSmall).
	ctype, lastModified, vary string
	// byWatch: the entry is kept current by inotify (else by stat); set
	// before it is cached, never changed, so it is read without the lock.
	byWatch bool
	// watched lists the inotify watches that keep the entry current.
	// Guarded by the cache's mu.
	watched []watchRef
	dropped bool         // removed, or its watch saw a change while it loaded; mu
	checked atomic.Int64 // when it was last known current (Unix ns)
}

func newSmallCache(w *watcher) *smallCache {
	return &smallCache{w: w, items: map[string]*smallFile{}}
}

func (c *smallCache) lookup(name string) *smallFile {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.items[name]
}

// get returns the cached file for name if st still describes it.
func (c *smallCache) get(name string, st fs.FileInfo, now int64) *smallFile {
	f := c.lookup(name)
	if f == nil || f.info.Size() != st.Size() || !f.info.ModTime().Equal(st.ModTime()) || !os.SameFile(f.info, st) {
		return nil
	}
	f.checked.Store(now)
	return f
}

// load reads name (whose stat is st) and caches it, watched when it can
// be. It returns nil when the file changed between the stat and the read,
// or is not a regular file.
func (c *smallCache) load(files fs.FS, name string, st fs.FileInfo, etag func(fs.FileInfo) string, now int64) *smallFile {
	if c.w != nil {
		if sf, ok := c.loadWatched(name, etag); ok {
			if sf != nil {
				sf.checked.Store(now)
			}
			return sf
		}
	}
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
	sf := &smallFile{}
	// ost, not st: st's name may alias the request's buffer.
	sf.fill(strings.Clone(name), ost, etag(ost), body)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.insertLocked(sf)
	return sf
}

// fill sets f's content and prepared header values.
func (f *smallFile) fill(name string, st fs.FileInfo, etag string, body []byte) {
	f.name, f.info, f.etag, f.body, f.ctype = name, st, etag, body, contentType(name)
	if !isZeroTime(st.ModTime()) {
		f.lastModified = st.ModTime().UTC().Format(http.TimeFormat)
	}
	if compressible(f.ctype) {
		f.vary = "Accept-Encoding"
	}
}

// insertLocked caches f in place of any entry of its name, dropping
// arbitrary entries while the cache is full.
func (c *smallCache) insertLocked(f *smallFile) {
	if old := c.items[f.name]; old != nil {
		c.removeLocked(old)
	}
	for _, e := range c.items {
		if c.size+len(f.body) <= smallCacheSize {
			break
		}
		c.removeLocked(e)
	}
	c.items[f.name] = f
	c.size += len(f.body)
}

// removeLocked drops f, if it is still the entry of its name, and its
// watches.
func (c *smallCache) removeLocked(f *smallFile) {
	f.dropped = true
	if c.items[f.name] == f {
		delete(c.items, f.name)
		c.size -= len(f.body)
	}
	if f.watched != nil {
		c.releaseLocked(f)
	}
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
