package webserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
)

// serveFile answers a GET or HEAD for a path under the root.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	name, err := resolve(r.URL.Path, s.cfg.Dotfiles)
	switch {
	case errors.Is(err, errBadPath):
		writeError(w, r, http.StatusBadRequest, "The path is malformed or tries to leave the site.")
		return
	case err != nil:
		writeError(w, r, http.StatusNotFound, "")
		return
	}
	// "/file.txt/" names a folder that is not there (nginx answers 404 too);
	// serving the file would break its relative links.
	wantDir := strings.HasSuffix(r.URL.Path, "/")
	if s.small != nil && !wantDir && s.serveSmall(w, r, name) {
		return
	}
	f, st, err := s.open(name)
	if err != nil {
		s.notFound(w, r, name, err)
		return
	}
	defer f.Close()
	if st.IsDir() {
		s.serveDir(w, r, name, f)
		return
	}
	if wantDir {
		writeError(w, r, http.StatusNotFound, "")
		return
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		writeError(w, r, http.StatusInternalServerError, "")
		return
	}
	s.serveRegular(w, r, name, rs, st, s.etag(name, st))
}

// serveSmall serves name from the small-file cache when it is a small
// regular file, and reports whether it did.
func (s *Server) serveSmall(w http.ResponseWriter, r *http.Request, name string) bool {
	st, err := s.stat(name)
	if err != nil || !st.Mode().IsRegular() || st.Size() > smallFileMax {
		return false // folders, big files and errors take the general path
	}
	sf := s.small.get(name, st)
	if sf == nil {
		if sf = s.small.load(s.files, name, st, s.etag(name, st)); sf == nil {
			return false
		}
	}
	if plainRequest(r, len(sf.hdr["Vary"]) > 0) {
		writeSmall(w, r, sf)
		return true
	}
	s.serveRegular(w, r, name, bytes.NewReader(sf.body), sf.info, sf.etag)
	return true
}

// open opens name and refuses anything but a regular file or a directory
// (devices, FIFOs, sockets), checked on the open file so a swap between a
// check and the open cannot slip through.
func (s *Server) open(name string) (fs.File, fs.FileInfo, error) {
	f, err := s.files.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not a regular file: %w", name, fs.ErrNotExist)
	}
	return f, st, nil
}

// notFound answers 404 for every failure to open: missing files as well as
// names that os.Root refused because they escape the root, so a probe learns
// nothing about what lies outside.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, name string, err error) {
	if !errors.Is(err, fs.ErrNotExist) {
		s.log.Debug("open refused", "name", name, "err", err)
	}
	writeError(w, r, http.StatusNotFound, "")
}

func (s *Server) serveDir(w http.ResponseWriter, r *http.Request, name string, dir fs.File) {
	if !strings.HasSuffix(r.URL.Path, "/") {
		// Relative links in the index or listing need the trailing slash.
		// The target is built from the cleaned name, so it always starts
		// with a single "/" and cannot become a protocol-relative redirect.
		target := "/" + name + "/"
		if name == "." {
			target = "/"
		}
		target = (&url.URL{Path: target}).EscapedPath()
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	index := path.Join(name, "index.html")
	if f, st, err := s.open(index); err == nil {
		defer f.Close()
		if rs, ok := f.(io.ReadSeeker); ok && !st.IsDir() {
			s.serveRegular(w, r, index, rs, st, s.etag(index, st))
			return
		}
	}
	if s.cfg.NoListing {
		writeError(w, r, http.StatusNotFound, "")
		return
	}
	rd, ok := dir.(fs.ReadDirFile)
	if !ok {
		writeError(w, r, http.StatusNotFound, "")
		return
	}
	s.serveListing(w, r, rd)
}

// serveRegular sends one file with validators, ranges and, when the client
// accepts it, gzip: a precompressed name.gz beside the file first, else a
// cached on-the-fly compression for small compressible files.
func (s *Server) serveRegular(w http.ResponseWriter, r *http.Request, name string, f io.ReadSeeker, st fs.FileInfo, etag string) {
	ctype := contentType(name)
	h := w.Header()
	h.Set("Content-Type", ctype)
	if compressible(ctype) {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			if s.serveGzip(w, r, name, f, st, etag) {
				return
			}
		}
	}
	h.Set("ETag", etag)
	_, isFile := f.(*os.File)
	limitRanges(r, st.Size(), ctype)
	http.ServeContent(&errorPageWriter{ResponseWriter: w, r: r, sendfile: isFile}, r, "", st.ModTime(), f)
}

// stat stats name through the root.
func (s *Server) stat(name string) (fs.FileInfo, error) {
	if sfs, ok := s.files.(fs.StatFS); ok {
		return sfs.Stat(name)
	}
	return fs.Stat(s.files, name)
}

// etag is the strong validator of a file: a content hash for embedded files,
// else modification time and size (the scheme nginx uses).
func (s *Server) etag(name string, st fs.FileInfo) string {
	if e, ok := s.etags[name]; ok {
		return e
	}
	return fmt.Sprintf(`"%x-%x"`, st.ModTime().UnixNano(), st.Size())
}
