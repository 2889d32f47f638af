//go:build linux

package webserver

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A watched small file is known to be current without a stat per hit.
// inotify queues its event inside the system call that changes a file or
// a folder (write, truncate, rename, unlink, symlink), before that call
// returns; so when a request arrives after the change, the event is
// already queued, and one FIONREAD on the inotify descriptor (which reads
// a counter and never blocks) tells the hit whether anything it depends
// on may have changed. A cached file depends on its own inode (edits, in
// place or through another hard link) and, in each folder on its path,
// on the name it was reached by (a rename over it, a deletion, a symlink
// put in its place). Only paths without symlinks are watched, opened
// component by component with O_NOFOLLOW from the root's descriptor, so
// what is watched is what is served; any other path keeps the stat per
// hit through the os.Root.
//
// Not seen by inotify, and so only where it is not used: changes made by
// another machine to a network file system (only local file system types
// are watched). Writes through a shared mapping raise no event either;
// like a mount over a served folder, they are caught by the stat every
// entry gets again after watchRecheck.

const (
	// In each folder on the path: the name's entry replaced, removed or
	// changed, or the folder itself moved or removed.
	dirEvents = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_ATTRIB |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	// On the file: any write, truncation, attribute or link change.
	fileEvents = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
)

// watcher is the small-file cache's inotify instance. Its maps are
// guarded by the cache's mu.
type watcher struct {
	fd       int
	root     *os.File     // the served folder, as the os.Root opened it
	rootFd   int          // root's descriptor
	draining atomic.Int32 // a drain is reading or applying events
	watches  map[int32]*watch
	buf      []byte
}

// watch is one inotify watch: a folder on some cached file's path, or a
// cached file.
type watch struct {
	gen  uint64 // events seen on it
	refs int
	// deps maps a name in the folder ("" for the watched file itself) to
	// the cache entries reached through it.
	deps map[string]map[*smallFile]struct{}
}

// watchRef is one dependency of a cache entry.
type watchRef struct {
	wd   int32
	comp string
	gen  uint64 // the watch's gen when the entry was loaded
}

// newWatcher watches files under root; nil when inotify is unavailable
// (the cache then stats every hit).
func newWatcher(r *os.Root) *watcher {
	root, err := r.Open(".")
	if err != nil {
		return nil
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		root.Close()
		return nil
	}
	return &watcher{fd: fd, root: root, rootFd: int(root.Fd()), watches: map[int32]*watch{}, buf: make([]byte, 64<<10)}
}

func (w *watcher) close() {
	if w != nil {
		unix.Close(w.fd)
		w.root.Close()
	}
}

// pending reports whether events may be waiting or being applied. The
// drain counter is read after FIONREAD: a drain raises it before it reads,
// so an event a running drain took off the queue is not missed.
func (w *watcher) pending() bool {
	var n int32
	// RawSyscall: FIONREAD (TIOCINQ) on inotify sums queued event sizes under a
	// spinlock and never blocks, so the scheduler need not know.
	_, _, errno := unix.RawSyscall(unix.SYS_IOCTL, uintptr(w.fd), unix.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	return errno != 0 || n > 0 || w.draining.Load() != 0
}

// fresh returns the watched entry for name if nothing it depends on has
// changed since it was loaded; nil otherwise, or when it is due for its
// stat check (the caller stats).
func (c *smallCache) fresh(name string, now int64) *smallFile {
	if c.w == nil {
		return nil
	}
	if f := c.lookup(name); f == nil || !f.byWatch {
		return nil // not cached, or cached by stat: no need to look at events
	}
	if c.w.pending() {
		c.drain()
	}
	// Looked up again after the check: a drain that finished between the
	// first lookup and the check may have dropped the entry.
	f := c.lookup(name)
	if f == nil || !f.byWatch {
		return nil
	}
	if now-f.checked.Load() > int64(watchRecheck) {
		return nil // stat it too (get), now that the events are applied
	}
	return f
}

// drain reads every queued event and drops the entries they concern.
func (c *smallCache) drain() {
	w := c.w
	c.mu.Lock()
	defer c.mu.Unlock()
	w.draining.Add(1)
	defer w.draining.Add(-1)
	for {
		n, err := unix.Read(w.fd, w.buf)
		if n <= 0 {
			if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				c.dropWatchedLocked() // cannot tell what changed
			}
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for b := w.buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
			end := unix.SizeofInotifyEvent + int(ev.Len)
			if end > len(b) {
				break
			}
			comp := string(bytes.TrimRight(b[unix.SizeofInotifyEvent:end], "\x00"))
			c.eventLocked(ev.Wd, ev.Mask, comp)
			b = b[end:]
		}
	}
}

// eventLocked applies one event.
func (c *smallCache) eventLocked(wd int32, mask uint32, comp string) {
	w := c.w
	if mask&unix.IN_Q_OVERFLOW != 0 {
		c.dropWatchedLocked()
		return
	}
	wt := w.watches[wd]
	if wt == nil {
		return
	}
	wt.gen++
	var hit []*smallFile
	for dc, set := range wt.deps {
		if comp == "" || dc == comp {
			for f := range set {
				hit = append(hit, f)
			}
		}
	}
	for _, f := range hit {
		c.removeLocked(f)
	}
	if mask&unix.IN_IGNORED != 0 { // the kernel dropped the watch
		delete(w.watches, wd)
	}
}

// dropWatchedLocked drops every watched entry.
func (c *smallCache) dropWatchedLocked() {
	for _, f := range c.items {
		if f.watched != nil {
			c.removeLocked(f)
		}
	}
	for _, wt := range c.w.watches {
		wt.gen++
	}
}

// releaseLocked forgets f's dependencies, and the watches nothing else
// needs.
func (c *smallCache) releaseLocked(f *smallFile) {
	w := c.w
	for _, ref := range f.watched {
		wt := w.watches[ref.wd]
		if wt == nil {
			continue
		}
		if set := wt.deps[ref.comp]; set != nil {
			delete(set, f)
			if len(set) == 0 {
				delete(wt.deps, ref.comp)
			}
		}
		if wt.refs--; wt.refs == 0 {
			_, _ = unix.InotifyRmWatch(w.fd, uint32(ref.wd))
			delete(w.watches, ref.wd)
		}
	}
	f.watched = nil
}

// addWatch watches the folder or file open as fd for f, reached by comp.
func (c *smallCache) addWatch(f *smallFile, fd int, comp string, mask uint32) error {
	if !localFS(fd) {
		return errNotWatchable
	}
	w := c.w
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.dropped {
		return errChanged
	}
	// The descriptor's own inode, whatever its name has become since.
	wd, err := unix.InotifyAddWatch(w.fd, "/proc/self/fd/"+strconv.Itoa(fd), mask)
	if err != nil {
		return err
	}
	wt := w.watches[int32(wd)]
	if wt == nil {
		wt = &watch{deps: map[string]map[*smallFile]struct{}{}}
		w.watches[int32(wd)] = wt
	}
	wt.refs++
	set := wt.deps[comp]
	if set == nil {
		set = map[*smallFile]struct{}{}
		wt.deps[comp] = set
	}
	set[f] = struct{}{}
	f.watched = append(f.watched, watchRef{wd: int32(wd), comp: comp, gen: wt.gen})
	return nil
}

var (
	errNotWatchable = errors.New("not on a local file system")
	errChanged      = errors.New("changed while loading")
)

// localFS reports whether fd's file system reports every change through
// inotify: local ones do; a network file system does not see other
// clients' changes.
func localFS(fd int) bool {
	var st unix.Statfs_t
	if unix.Fstatfs(fd, &st) != nil {
		return false
	}
	switch uint32(st.Type) {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.TMPFS_MAGIC,
		unix.OVERLAYFS_SUPER_MAGIC, unix.F2FS_SUPER_MAGIC, unix.RAMFS_MAGIC:
		return true
	}
	return false
}

// loadWatched loads name (a small regular file, by the caller's stat) as a
// watched entry. ok is false when name cannot be watched or opened (a
// symlink on its path, a network file system, no inotify watch left, gone
// already): the caller then loads it the stat-checked way. A nil entry
// with ok true means the file changed while it was read; the caller
// serves it the general way this time.
func (c *smallCache) loadWatched(name string, etag func(fs.FileInfo) string) (sf *smallFile, ok bool) {
	if !fs.ValidPath(name) || name == "." {
		return nil, false
	}
	name = strings.Clone(name)  // it may alias the request's buffer
	f := &smallFile{name: name} // only under mu from here: drains see f once it is watched
	keep := false
	defer func() {
		if !keep {
			c.mu.Lock()
			c.releaseLocked(f)
			c.mu.Unlock()
		}
	}()
	file, err := c.openWatched(f, name)
	if errors.Is(err, errChanged) {
		return nil, true
	}
	if err != nil {
		return nil, false
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > smallFileMax {
		return nil, true
	}
	body, err := io.ReadAll(io.LimitReader(file, smallFileMax+1))
	if err != nil || int64(len(body)) != st.Size() {
		return nil, true
	}
	tag := etag(st)
	c.mu.Lock()
	defer c.mu.Unlock()
	f.fill(name, st, tag, body)
	if f.dropped {
		return nil, true // a change was seen while loading: the next request loads again
	}
	for _, ref := range f.watched {
		if wt := c.w.watches[ref.wd]; wt == nil || wt.gen != ref.gen {
			return nil, true // changed while loading: the next request loads again
		}
	}
	keep = true
	f.byWatch = true
	c.insertLocked(f)
	return f, true
}

// openWatched opens name from the root one component at a time, without
// following symlinks, watching each folder before it looks a name up in
// it and the file once it is open: a change after a folder's watch is
// queued, and one before it was made before the lookup that sees it.
func (c *smallCache) openWatched(f *smallFile, name string) (*os.File, error) {
	dir := c.w.rootFd
	var opened []int
	defer func() {
		for _, fd := range opened {
			unix.Close(fd)
		}
	}()
	rest := name
	for {
		comp, more, found := strings.Cut(rest, "/")
		if err := c.addWatch(f, dir, comp, dirEvents); err != nil {
			return nil, err
		}
		if !found {
			fd, err := unix.Openat(dir, comp, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, err
			}
			file := os.NewFile(uintptr(fd), name)
			if err := c.addWatch(f, fd, "", fileEvents); err != nil {
				file.Close()
				return nil, err
			}
			return file, nil
		}
		fd, err := unix.Openat(dir, comp, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		opened = append(opened, fd)
		dir, rest = fd, more
	}
}
