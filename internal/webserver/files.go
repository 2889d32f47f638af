package webserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// serveFile answers a GET or HEAD for a path under the root.
func (s *Server) serveFile(rep *reply, r *request) {
	name, err := resolve(r.path, s.cfg.Dotfiles)
	switch {
	case errors.Is(err, errBadPath):
		writeError(rep, r, http.StatusBadRequest, "The path is malformed or tries to leave the site.")
		return
	case err != nil:
		writeError(rep, r, http.StatusNotFound, "")
		return
	}
	// "/file.txt/" names a folder that is not there (nginx answers 404 too);
	// serving the file would break its relative links.
	wantDir := strings.HasSuffix(r.path, "/")
	if s.small != nil && !wantDir && s.serveSmall(rep, r, name) {
		return
	}
	f, st, err := s.open(name)
	if err != nil {
		s.notFound(rep, r, name, err)
		return
	}
	switch {
	case st.IsDir():
		defer f.Close()
		s.serveDir(rep, r, name, f)
	case wantDir:
		f.Close()
		writeError(rep, r, http.StatusNotFound, "")
	default:
		rs, ok := f.(io.ReadSeeker)
		if !ok {
			f.Close()
			writeError(rep, r, http.StatusInternalServerError, "")
			return
		}
		s.serveRegular(rep, r, name, rs, st, s.etag(name, st))
	}
}

// serveSmall serves name from the small-file cache when it is a small
// regular file, and reports whether it did.
func (s *Server) serveSmall(rep *reply, r *request, name string) bool {
	now := r.at.UnixNano()
	sf := s.small.fresh(name, now)
	if sf == nil {
		st, err := s.stat(name)
		if err != nil || !st.Mode().IsRegular() || st.Size() > smallFileMax {
			return false // folders, big files and errors take the general path
		}
		if sf = s.small.get(name, st, now); sf == nil {
			etag := func(st fs.FileInfo) string { return s.etag(name, st) }
			if sf = s.small.load(s.files, name, st, etag, now); sf == nil {
				return false
			}
		}
	}
	c := readConditions(r.header)
	if c.none() && (sf.vary == "" || !acceptsGzip(r.header.get("Accept-Encoding"))) {
		writeSmall(rep, sf)
		return true
	}
	s.serveRegular(rep, r, name, bytes.NewReader(sf.body), sf.info, sf.etag)
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
func (s *Server) notFound(rep *reply, r *request, name string, err error) {
	if !errors.Is(err, fs.ErrNotExist) {
		s.log.Debug("open refused", "name", name, "err", err)
	}
	writeError(rep, r, http.StatusNotFound, "")
}

func (s *Server) serveDir(rep *reply, r *request, name string, dir fs.File) {
	if !strings.HasSuffix(r.path, "/") {
		// Relative links in the index or listing need the trailing slash.
		// The target is built from the cleaned name, so it always starts
		// with a single "/" and cannot become a protocol-relative redirect.
		target := "/" + name + "/"
		if name == "." {
			target = "/"
		}
		target = (&url.URL{Path: target}).EscapedPath()
		if r.rawQuery != "" {
			target += "?" + r.rawQuery
		}
		rep.set("Location", target)
		rep.status = http.StatusMovedPermanently
		return
	}
	index := path.Join(name, "index.html")
	if f, st, err := s.open(index); err == nil {
		if rs, ok := f.(io.ReadSeeker); ok && !st.IsDir() {
			s.serveRegular(rep, r, index, rs, st, s.etag(index, st))
			return
		}
		f.Close()
	}
	if s.cfg.NoListing {
		writeError(rep, r, http.StatusNotFound, "")
		return
	}
	rd, ok := dir.(fs.ReadDirFile)
	if !ok {
		writeError(rep, r, http.StatusNotFound, "")
		return
	}
	s.serveListing(rep, r, rd)
}

// serveRegular sends one file with validators, ranges and, when the client
// accepts it, gzip: a precompressed name.gz beside the file first, else a
// cached on-the-fly compression for small compressible files. It owns f:
// the reply's stream closes it, or it is closed here.
func (s *Server) serveRegular(rep *reply, r *request, name string, f io.ReadSeeker, st fs.FileInfo, etag string) {
	ctype := contentType(name)
	rep.set("Content-Type", ctype)
	if compressible(ctype) {
		rep.add("Vary", "Accept-Encoding")
		if acceptsGzip(r.header.get("Accept-Encoding")) && s.serveGzip(rep, r, name, f, st, etag) {
			closeContent(f)
			return
		}
	}
	rep.set("ETag", etag)
	serveContent(rep, r, ctype, st.ModTime(), st.Size(), f)
}

// serveContent answers for content (size bytes of type ctype, modified at
// modtime, its validator already in rep) as net/http's ServeContent did:
// Last-Modified, the preconditions (304, 412), then the whole body, one
// range or a multipart/byteranges body (RFC 9110 §13, §14). It owns
// content: the reply's stream closes it, or it is closed here.
func serveContent(rep *reply, r *request, ctype string, modtime time.Time, size int64, content io.ReadSeeker) {
	if !isZeroTime(modtime) {
		rep.set("Last-Modified", modtime.UTC().Format(http.TimeFormat))
	}
	status, rng := evalConditions(r.method, readConditions(r.header), rep.get("ETag"), modtime)
	switch status {
	case http.StatusNotModified:
		closeContent(content)
		notModified(rep)
		return
	case http.StatusPreconditionFailed:
		closeContent(content)
		writeError(rep, r, status, "")
		return
	}
	ranges, code := selectRanges(rng, size, ctype)
	switch code {
	case http.StatusRequestedRangeNotSatisfiable:
		closeContent(content)
		writeError(rep, r, code, "")
		rep.set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		return
	case http.StatusPartialContent:
		rep.status = code
		if len(ranges) == 1 {
			rg := ranges[0]
			if _, err := content.Seek(rg.first, io.SeekStart); err != nil {
				closeContent(content)
				writeError(rep, r, http.StatusInternalServerError, "")
				return
			}
			rep.set("Content-Range", rg.contentRange(size))
			rep.setStream(content, rg.length())
			break
		}
		body, n, boundary := multipartBody(content, ranges, size, ctype)
		rep.set("Content-Type", "multipart/byteranges; boundary="+boundary)
		rep.setStream(body, n)
	default:
		rep.status = http.StatusOK
		rep.setStream(content, size)
	}
	rep.set("Accept-Ranges", "bytes")
}

// notModified turns rep into a 304 (RFC 9110 §15.4.5): no body, and no
// representation metadata beyond the validators.
func notModified(rep *reply) {
	rep.del("Content-Type")
	rep.del("Content-Encoding")
	if rep.get("ETag") != "" {
		rep.del("Last-Modified")
	}
	rep.status = http.StatusNotModified
	rep.setBody(nil)
}

// closeContent closes content if it is a file.
func closeContent(content io.Reader) {
	if c, ok := content.(io.Closer); ok {
		c.Close()
	}
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
