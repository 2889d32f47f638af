package webserver

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"os"
	"syscall"
)

//go:embed site
var site embed.FS

// DefaultSite is the small site served when no folder is given: an index, two
// linked pages, a stylesheet and an image.
func DefaultSite() fs.FS {
	sub, err := fs.Sub(site, "site")
	if err != nil { // unreachable: "site" is a valid, embedded directory
		panic(err)
	}
	return sub
}

// rootFS serves files through an os.Root, which refuses any name (".."
// or a symlink, absolute or relative) that would resolve outside the folder.
type rootFS struct{ r *os.Root }

// Open opens name without blocking: O_NONBLOCK keeps a FIFO planted in the
// folder from hanging the request (the caller then refuses anything that is
// not a regular file or a directory, checked on the open descriptor).
func (f rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	file, err := f.r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	return file, nil
}

// Stat follows symlinks inside the root, like Open.
func (f rootFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	return f.r.Stat(name)
}

// hashETags gives every regular file of fsys a strong validator from its
// content, for file systems without modification times (embed.FS).
func hashETags(fsys fs.FS) (map[string]string, error) {
	etags := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		etags[name] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	return etags, err
}
