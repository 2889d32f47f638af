package redisstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"sync"
	"time"

	"github.com/socklab/socklab/internal/proxy"
)

// The stored format, version 1. An entry is one meta value and, when its
// body does not fit beside the header, body chunks under their own keys.
//
//	offset  size  field
//	0       4     magic "SLC" + version byte 1
//	4       16    generation: 16 lowercase hex digits naming the chunk keys
//	20      4     chunk count, big endian; 0 = the body follows inline
//	24      4     header length n, big endian
//	28      n     header, JSON (metaHeader)
//	28+n    ...   the body, when inline
//
// The fixed prefix lets the Lua scripts read an old entry's generation and
// chunk count with one GETRANGE, without parsing JSON, so a replaced or
// deleted entry's chunks can be removed at once instead of waiting for
// their TTL.
const (
	magic      = "SLC\x01"
	prefixLen  = 24
	headerOff  = 28
	genLen     = 16
	maxHeader  = 4 << 20 // a bound for hostile or corrupt values
	maxChunks  = 1 << 16
	crcPolyTab = crc32.Castagnoli
)

// crcTable is built on first use: every socklab command links this
// package, few of them store anything in Redis.
var crcTable = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crcPolyTab) })

// errCorrupt marks a meta value that does not decode; the store treats it
// as a miss.
var errCorrupt = errors.New("corrupt cache entry")

// errEncode marks an entry that cannot be written (its header does not
// fit in one value), as opposed to Redis failing.
var errEncode = errors.New("encode cache entry")

// metaHeader is everything of a proxy.Entry except its body. Times are
// Unix nanoseconds (0 = zero time) so they survive without a monotonic
// clock reading or a time zone.
type metaHeader struct {
	Key          string      `json:"k"`
	Status       int         `json:"s"`
	Header       http.Header `json:"h,omitempty"`
	RequestTime  int64       `json:"rq,omitempty"`
	ResponseTime int64       `json:"rs,omitempty"`
	StoreUntil   int64       `json:"su,omitempty"`
	VaryFields   []string    `json:"vf"` // null vs [] matters: non-nil marks a Vary marker
	VaryID       string      `json:"vid,omitempty"`
	Variants     []string    `json:"vs,omitempty"`
	BodyLen      int         `json:"bl"`
	CRC          uint32      `json:"crc"`
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// encoded is an entry ready to write: the meta value and the chunks (nil
// when the body is inline).
type encoded struct {
	meta   []byte
	chunks [][]byte
}

// encode lays out e (stored under key) for chunks of at most chunkSize
// bytes; gen names the chunk keys. It fails only when the header alone
// does not fit in one value.
func encode(key string, e *proxy.Entry, gen string, chunkSize int) (encoded, error) {
	h := metaHeader{
		Key: key, Status: e.Status, Header: e.Header,
		RequestTime: unixNano(e.RequestTime), ResponseTime: unixNano(e.ResponseTime), StoreUntil: unixNano(e.StoreUntil),
		VaryFields: e.VaryFields, VaryID: e.VaryID, Variants: e.Variants,
		BodyLen: len(e.Body), CRC: crc32.Checksum(e.Body, crcTable()),
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return encoded{}, fmt.Errorf("%w: %w", errEncode, err)
	}
	if headerOff+len(hj) > chunkSize {
		return encoded{}, fmt.Errorf("%w: header of %d bytes does not fit in a %d-byte value (raise the chunk size)", errEncode, len(hj), chunkSize)
	}
	var out encoded
	nChunks := 0
	if headerOff+len(hj)+len(e.Body) > chunkSize {
		nChunks = (len(e.Body) + chunkSize - 1) / chunkSize
		if nChunks > maxChunks {
			return encoded{}, fmt.Errorf("%w: body of %d bytes needs more than %d chunks", errEncode, len(e.Body), maxChunks)
		}
		out.chunks = make([][]byte, nChunks)
		for i := range nChunks {
			out.chunks[i] = e.Body[i*chunkSize : min((i+1)*chunkSize, len(e.Body))]
		}
	}
	size := headerOff + len(hj)
	if nChunks == 0 {
		size += len(e.Body)
	}
	m := make([]byte, 0, size)
	m = append(m, magic...)
	m = append(m, gen...)
	m = binary.BigEndian.AppendUint32(m, uint32(nChunks))
	m = binary.BigEndian.AppendUint32(m, uint32(len(hj)))
	m = append(m, hj...)
	if nChunks == 0 {
		m = append(m, e.Body...)
	}
	out.meta = m
	return out, nil
}

// prefix is the fixed start of a meta value.
type prefix struct {
	gen    string
	chunks int
}

// parsePrefix reads the fixed prefix; ok is false for anything that is
// not a version-1 meta value (an absent key included).
func parsePrefix(b []byte) (prefix, bool) {
	if len(b) < prefixLen || string(b[:4]) != magic {
		return prefix{}, false
	}
	gen := string(b[4 : 4+genLen])
	if !validGen(gen) {
		return prefix{}, false
	}
	n := binary.BigEndian.Uint32(b[20:24])
	if n > maxChunks {
		return prefix{}, false
	}
	return prefix{gen: gen, chunks: int(n)}, true
}

func validGen(g string) bool {
	if len(g) != genLen {
		return false
	}
	for i := range len(g) {
		c := g[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// decodeMeta parses a meta value: its prefix, its header, and the inline
// body (nil when chunked).
func decodeMeta(b []byte) (prefix, metaHeader, []byte, error) {
	var h metaHeader
	p, ok := parsePrefix(b)
	if !ok || len(b) < headerOff {
		return p, h, nil, fmt.Errorf("%w: bad prefix", errCorrupt)
	}
	n := binary.BigEndian.Uint32(b[24:28])
	if n > maxHeader || uint64(len(b)) < uint64(headerOff)+uint64(n) {
		return p, h, nil, fmt.Errorf("%w: header length %d", errCorrupt, n)
	}
	if err := json.Unmarshal(b[headerOff:headerOff+int(n)], &h); err != nil {
		return p, h, nil, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	if h.BodyLen < 0 || h.Status < 0 || h.Status > 999 {
		return p, h, nil, fmt.Errorf("%w: body length %d, status %d", errCorrupt, h.BodyLen, h.Status)
	}
	rest := b[headerOff+int(n):]
	if p.chunks == 0 {
		if len(rest) != h.BodyLen {
			return p, h, nil, fmt.Errorf("%w: inline body of %d bytes, header says %d", errCorrupt, len(rest), h.BodyLen)
		}
		return p, h, rest, nil
	}
	if len(rest) != 0 {
		return p, h, nil, fmt.Errorf("%w: chunked entry with an inline body", errCorrupt)
	}
	return p, h, nil, nil
}

// entry rebuilds the proxy.Entry from a decoded header and its whole body,
// checking the body against the recorded length and checksum.
func (h *metaHeader) entry(body []byte) (*proxy.Entry, error) {
	if len(body) != h.BodyLen || crc32.Checksum(body, crcTable()) != h.CRC {
		return nil, fmt.Errorf("%w: body of %d bytes does not match its length %d or checksum", errCorrupt, len(body), h.BodyLen)
	}
	return &proxy.Entry{
		Status: h.Status, Header: h.Header, Body: body,
		RequestTime: fromUnixNano(h.RequestTime), ResponseTime: fromUnixNano(h.ResponseTime), StoreUntil: fromUnixNano(h.StoreUntil),
		VaryFields: h.VaryFields, VaryID: h.VaryID, Variants: h.Variants,
	}, nil
}
