package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Capture file formats.
const (
	FormatPcap   = "pcap"
	FormatPcapng = "pcapng"
)

// ErrNotCapture is returned when the input is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng capture")

// readBufSize is large so that the pcapgo readers, which take a *bufio.Reader
// as it is when it is big enough, read straight from it: one buffer, and the
// byte offset of every record is known exactly.
const readBufSize = 1 << 20

// Reader streams the packets of a pcap or pcapng capture, gzip-compressed or
// not. It keeps one packet in memory at a time.
type Reader struct {
	cr     *countingReader
	br     *bufio.Reader
	pcap   *pcapgo.Reader
	ng     *pcapgo.NgReader
	format string
	gzip   bool
	link   layers.LinkType

	packets int64 // records returned so far
	offset  int64 // bytes of the (decompressed) file consumed by those records

	// res is the coarsest timestamp resolution of the packets read so far
	// (of the file's header, or its first interface, before the first);
	// ifRes the resolution of each pcapng interface, by index.
	res   time.Duration
	ifRes []time.Duration
}

// NewReader reads the file header from r and returns a Reader positioned at
// the first packet.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{}
	rd.cr = &countingReader{r: r}
	rd.br = bufio.NewReaderSize(rd.cr, readBufSize)
	if magic, _ := rd.br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(rd.br)
		if err != nil {
			return nil, fmt.Errorf("gzip header: %w", err)
		}
		rd.gzip = true
		rd.cr = &countingReader{r: zr}
		rd.br = bufio.NewReaderSize(rd.cr, readBufSize)
	}
	magic, err := rd.br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			if len(magic) == 0 {
				return nil, fmt.Errorf("%w: empty file", ErrNotCapture)
			}
			return nil, fmt.Errorf("%w: file shorter than a header (%d bytes)", ErrNotCapture, len(magic))
		}
		return nil, fmt.Errorf("read header: %w", err)
	}
	switch binary.LittleEndian.Uint32(magic) {
	case 0x0A0D0D0A: // pcapng section header block
		rd.format = FormatPcapng
		ng, err := pcapgo.NewNgReader(rd.br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("pcapng header: %w", headerErr(err))
		}
		rd.ng, rd.link = ng, ng.LinkType()
		rd.refreshInterfaces()
		if len(rd.ifRes) > 0 {
			rd.res = rd.ifRes[0]
		}
	case 0xA1B2C3D4, 0xD4C3B2A1, 0xA1B23C4D, 0x4D3CB2A1: // µs/ns, either byte order
		rd.format = FormatPcap
		p, err := pcapgo.NewReader(rd.br)
		if err != nil {
			return nil, fmt.Errorf("pcap header: %w", headerErr(err))
		}
		rd.pcap, rd.link = p, p.LinkType()
		rd.res = p.Resolution().ToDuration() // µs, or ns for the 0xA1B23C4D magic
	default:
		return nil, fmt.Errorf("%w (magic %#08x)", ErrNotCapture, binary.BigEndian.Uint32(magic))
	}
	rd.offset = rd.consumed()
	return rd, nil
}

func headerErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Format is FormatPcap or FormatPcapng.
func (r *Reader) Format() string { return r.format }

// Gzip reports whether the file was gzip-compressed.
func (r *Reader) Gzip() bool { return r.gzip }

// LinkType is the link type of the file (pcap) or of its first interface
// (pcapng; packets carry their own in ci.AncillaryData[0]).
func (r *Reader) LinkType() layers.LinkType { return r.link }

// Resolution is the timestamp resolution of the capture: the pcap
// header's (microseconds, or nanoseconds), or the coarsest if_tsresol of
// the pcapng interfaces whose packets were read so far (microseconds where
// an interface does not say). No time difference measured from the file
// is finer than this. Never less than a nanosecond.
func (r *Reader) Resolution() time.Duration { return max(r.res, time.Nanosecond) }

// refreshInterfaces reads the resolution of every pcapng interface.
func (r *Reader) refreshInterfaces() {
	r.ifRes = r.ifRes[:0]
	for i := range r.ng.NInterfaces() {
		d := time.Nanosecond
		if intf, err := r.ng.Interface(i); err == nil {
			d = max(intf.TimestampResolution.ToTimestampResolution().ToDuration(), time.Nanosecond)
		}
		r.ifRes = append(r.ifRes, d)
	}
}

// notePacketResolution folds a pcapng packet's interface resolution into
// r.res; interfaces may be described anywhere in the file.
func (r *Reader) notePacketResolution(ci gopacket.CaptureInfo) {
	if ci.InterfaceIndex >= len(r.ifRes) || r.ng.NInterfaces() != len(r.ifRes) {
		r.refreshInterfaces()
	}
	if ci.InterfaceIndex >= 0 && ci.InterfaceIndex < len(r.ifRes) {
		r.res = max(r.res, r.ifRes[ci.InterfaceIndex])
	}
}

// Packets is the number of packets read so far.
func (r *Reader) Packets() int64 { return r.packets }

// Offset is the byte offset just past the last packet read, counted in the
// decompressed stream for a gzip file.
func (r *Reader) Offset() int64 { return r.offset }

func (r *Reader) consumed() int64 { return r.cr.n - int64(r.br.Buffered()) }

// Next returns the next packet and its link type. The data is only valid
// until the next call. At the end of the capture it returns io.EOF; when the
// capture is damaged it returns a *StopError saying where and why.
func (r *Reader) Next() (data []byte, ci gopacket.CaptureInfo, link layers.LinkType, err error) {
	if r.pcap != nil {
		data, ci, err = r.pcap.ZeroCopyReadPacketData()
		link = r.link
	} else {
		data, ci, err = r.ng.ZeroCopyReadPacketData()
		link = r.link
		if err == nil {
			r.notePacketResolution(ci)
		}
		if len(ci.AncillaryData) > 0 {
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				link = lt
			}
		}
	}
	if err != nil {
		// pcapgo returns io.EOF only where a record could start, except
		// that the pcap reader also does so for a record whose header is
		// there but whose data is not: that one is truncated.
		if err == io.EOF && (r.ng != nil || r.consumed() == r.offset) {
			return nil, ci, link, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, ci, link, &StopError{Packet: r.packets + 1, Offset: r.offset, Err: err}
	}
	r.packets++
	r.offset = r.consumed()
	return data, ci, link, nil
}

// StopError says where a damaged capture stopped being readable: the record
// number that could not be read (1-based) and the byte offset it starts at.
type StopError struct {
	Packet int64
	Offset int64
	Err    error
}

func (e *StopError) Error() string {
	return fmt.Sprintf("capture unreadable from packet %d (byte offset %d): %v", e.Packet, e.Offset, e.Err)
}

func (e *StopError) Unwrap() error { return e.Err }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
