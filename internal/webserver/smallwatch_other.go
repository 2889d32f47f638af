//go:build !linux

package webserver

import (
	"io/fs"
	"os"
)

// Without inotify every small-file hit stats its name (smallcache.go).

type watcher struct{}

type watchRef struct{}

func newWatcher(*os.Root) *watcher { return nil }

func (w *watcher) close() {}

func (c *smallCache) fresh(string, int64) *smallFile { return nil }

func (c *smallCache) loadWatched(string, func(fs.FileInfo) string) (*smallFile, bool) {
	return nil, false
}

func (c *smallCache) releaseLocked(f *smallFile) { f.watched = nil }
