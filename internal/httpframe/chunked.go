package httpframe

import "fmt"

// Bounds on the parts of a chunked body that are not data, so that a
// client cannot make the scanner (or net/http behind it) buffer without
// end.
const (
	maxChunkSizeDigits = 16
	maxChunkExt        = 1024
	maxTrailerBytes    = 16 << 10
)

type chunkState uint8

const (
	csSize chunkState = iota
	csExt
	csSizeLF
	csData
	csDataCR
	csDataLF
	csTrailerStart
	csTrailer
	csTrailerLF
	csEndLF
	csDone
)

// ChunkScanner follows a chunked body (RFC 9112 §7.1) byte by byte and
// refuses anything a lenient parser could read differently: a size that is
// not 1-16 hex digits, whitespace after it, a bare LF or CR where CRLF
// belongs, control bytes in an extension, a missing CRLF after the data.
// The zero value is ready for the first chunk-size line.
type ChunkScanner struct {
	st      chunkState
	digits  int
	size    uint64 // of the chunk being read; data bytes left in csData
	ext     int
	trailer int
	sawSize bool
}

// Done reports whether the body's last chunk and trailer section ended.
func (s *ChunkScanner) Done() bool { return s.st == csDone }

// SawSize reports whether at least one chunk-size line was complete.
func (s *ChunkScanner) SawSize() bool { return s.sawSize }

// Feed consumes b up to the end of the body and returns how many bytes
// belong to it; bytes after the end are not consumed. On an error, n is
// the valid prefix.
func (s *ChunkScanner) Feed(b []byte) (n int, err error) {
	for n < len(b) && s.st != csDone {
		if s.st == csData {
			k := uint64(len(b) - n)
			if k > s.size {
				k = s.size
			}
			n += int(k)
			if s.size -= k; s.size == 0 {
				s.st = csDataCR
			}
			continue
		}
		if err := s.step(b[n]); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *ChunkScanner) step(c byte) error {
	switch s.st {
	case csSize:
		return s.sizeByte(c)
	case csExt:
		if c == '\r' {
			s.st = csSizeLF
			return nil
		}
		if c < ' ' && c != '\t' || c == 0x7f {
			return fmt.Errorf("control byte %#x in a chunk extension", c)
		}
		if s.ext++; s.ext > maxChunkExt {
			return fmt.Errorf("chunk extension longer than %d bytes", maxChunkExt)
		}
	case csSizeLF:
		if c != '\n' {
			return fmt.Errorf("chunk-size line not ended by CRLF")
		}
		s.sawSize = true
		if s.size == 0 {
			s.st = csTrailerStart
		} else {
			s.st = csData
		}
	case csDataCR:
		if c != '\r' {
			return fmt.Errorf("chunk data longer than its size")
		}
		s.st = csDataLF
	case csDataLF:
		if c != '\n' {
			return fmt.Errorf("chunk data not followed by CRLF")
		}
		s.st, s.digits, s.size, s.ext = csSize, 0, 0, 0
	default:
		return s.trailerByte(c)
	}
	return nil
}

func (s *ChunkScanner) sizeByte(c byte) error {
	switch {
	case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		if s.digits++; s.digits > maxChunkSizeDigits {
			return fmt.Errorf("chunk size longer than %d hex digits", maxChunkSizeDigits)
		}
		s.size = s.size<<4 | uint64(unhex(c))
		return nil
	case s.digits == 0:
		return fmt.Errorf("chunk size missing, got %q", c)
	case c == ';':
		s.st = csExt
	case c == '\r':
		s.st = csSizeLF
	default:
		return fmt.Errorf("invalid byte %q after the chunk size", c)
	}
	return nil
}

// trailerByte follows the trailer section: field lines, then CRLF.
func (s *ChunkScanner) trailerByte(c byte) error {
	if s.trailer++; s.trailer > maxTrailerBytes {
		return fmt.Errorf("trailer section longer than %d bytes", maxTrailerBytes)
	}
	switch s.st {
	case csTrailerStart:
		switch c {
		case '\r':
			s.st = csEndLF
		case '\n':
			return fmt.Errorf("bare LF in the trailer section")
		default:
			s.st = csTrailer
		}
	case csTrailer:
		switch c {
		case '\r':
			s.st = csTrailerLF
		case '\n':
			return fmt.Errorf("bare LF in the trailer section")
		}
	case csTrailerLF:
		if c != '\n' {
			return fmt.Errorf("bare CR in the trailer section")
		}
		s.st = csTrailerStart
	case csEndLF:
		if c != '\n' {
			return fmt.Errorf("chunked body not ended by CRLF")
		}
		s.st = csDone
	}
	return nil
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
