// Package qoswire defines socklab's QoS probe: the fixed header a sender puts
// at the front of every UDP probe and that the reflector stamps in place.
// It only builds and parses bytes; it opens no socket and reads no clock.
//
// Layout (version 1, big-endian, 64 bytes; the rest of a datagram is padding
// the sender chooses):
//
//	 0  magic      "SKLQ"
//	 4  version    1
//	 5  flags      bit 0: reply (set by the reflector); bit 1: report, bit 2: one-way (report.go)
//	 6  header len 64 (lets a later version grow without breaking v1 readers)
//	 8  session    uint64, random per sender stream
//	16  sequence   uint64, 0-based per session
//	24  send mono  int64 ns, sender's monotonic clock (RTT without clock sync)
//	32  send wall  int64 ns since Unix epoch, sender's wall clock (one-way delay)
//	40  refl recv  int64 ns since Unix epoch, reflector's clock on arrival
//	48  refl send  int64 ns since Unix epoch, reflector's clock on departure
//	56  refl count uint64, probes of this session the reflector has received
//
// The reflector's two stamps come from one clock, so their difference (dwell
// time) is meaningful without synchronisation; the reflector count lets the
// sender split loss into upstream and downstream.
package qoswire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderLen is the size of the v1 header and the smallest valid probe.
const HeaderLen = 64

// MaxSize is the largest UDP payload over IPv4 (65535 − 20 − 8).
const MaxSize = 65507

// Version is the header version this package writes.
const Version = 1

// FlagReply marks a probe that a reflector has stamped and sent back.
const FlagReply uint8 = 1 << 0

var magic = [4]byte{'S', 'K', 'L', 'Q'}

// Errors returned by Parse; match with errors.Is.
var (
	ErrShort   = errors.New("qoswire: probe shorter than header")
	ErrMagic   = errors.New("qoswire: not a socklab probe (bad magic)")
	ErrVersion = errors.New("qoswire: unsupported probe version")
	ErrLength  = errors.New("qoswire: bad header length")
	// ErrNotReport: the datagram is not a report request or answer.
	ErrNotReport = errors.New("qoswire: not a report")
)

// Header is the decoded probe header.
type Header struct {
	Flags     uint8
	Session   uint64
	Seq       uint64
	SendMono  int64 // sender monotonic ns
	SendWall  int64 // sender wall clock, Unix ns
	ReflRecv  int64 // reflector receive time, Unix ns (0 until reflected)
	ReflSend  int64 // reflector send time, Unix ns (0 until reflected)
	ReflCount uint64
}

// IsReply reports whether a reflector stamped this probe.
func (h *Header) IsReply() bool { return h.Flags&FlagReply != 0 }

// Dwell is the time the probe spent inside the reflector, in ns.
func (h *Header) Dwell() int64 {
	if h.ReflRecv == 0 || h.ReflSend < h.ReflRecv {
		return 0
	}
	return h.ReflSend - h.ReflRecv
}

// Marshal writes h into b[:HeaderLen]. b may be longer (the padding is left
// as it is); it must not be shorter.
func (h *Header) Marshal(b []byte) error {
	if len(b) < HeaderLen {
		return fmt.Errorf("qoswire: marshal into %d bytes: %w", len(b), ErrShort)
	}
	copy(b[0:4], magic[:])
	b[4] = Version
	b[5] = h.Flags
	binary.BigEndian.PutUint16(b[6:8], HeaderLen)
	binary.BigEndian.PutUint64(b[8:16], h.Session)
	binary.BigEndian.PutUint64(b[16:24], h.Seq)
	binary.BigEndian.PutUint64(b[24:32], uint64(h.SendMono))
	binary.BigEndian.PutUint64(b[32:40], uint64(h.SendWall))
	binary.BigEndian.PutUint64(b[40:48], uint64(h.ReflRecv))
	binary.BigEndian.PutUint64(b[48:56], uint64(h.ReflSend))
	binary.BigEndian.PutUint64(b[56:64], h.ReflCount)
	return nil
}

// Parse decodes the header at the front of b. It allocates nothing.
func Parse(b []byte) (Header, error) {
	if err := check(b); err != nil {
		return Header{}, err
	}
	return Header{
		Flags:     b[5],
		Session:   binary.BigEndian.Uint64(b[8:16]),
		Seq:       binary.BigEndian.Uint64(b[16:24]),
		SendMono:  int64(binary.BigEndian.Uint64(b[24:32])),
		SendWall:  int64(binary.BigEndian.Uint64(b[32:40])),
		ReflRecv:  int64(binary.BigEndian.Uint64(b[40:48])),
		ReflSend:  int64(binary.BigEndian.Uint64(b[48:56])),
		ReflCount: binary.BigEndian.Uint64(b[56:64]),
	}, nil
}

// IsReply reports whether b starts like a probe (the magic) with the reply
// flag set, whatever its version or length: a reflector must not answer
// it, or two reflectors would bounce it between them for ever.
func IsReply(b []byte) bool {
	return len(b) > 5 && [4]byte(b[0:4]) == magic && b[5]&FlagReply != 0
}

// IsProbe reports whether b starts with a valid v1 header.
func IsProbe(b []byte) bool { return check(b) == nil }

// SessionOf returns the session id of a valid probe without decoding the rest.
func SessionOf(b []byte) (uint64, error) {
	if err := check(b); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b[8:16]), nil
}

// Reflect stamps a received probe in place for its trip back: it sets the
// reply flag and the reflector's receive time, send time and receive count.
// The length of b is unchanged, so a reply is never larger than its request.
func Reflect(b []byte, recvNs, sendNs int64, count uint64) error {
	if err := check(b); err != nil {
		return err
	}
	b[5] |= FlagReply
	binary.BigEndian.PutUint64(b[40:48], uint64(recvNs))
	binary.BigEndian.PutUint64(b[48:56], uint64(sendNs))
	binary.BigEndian.PutUint64(b[56:64], count)
	return nil
}

// SetReflSend rewrites the reflector's send stamp of a reflected probe, for
// a reflector that stamps a batch of replies just before it leaves. b must
// be a valid probe (Reflect succeeded on it).
func SetReflSend(b []byte, sendNs int64) {
	if len(b) >= HeaderLen {
		binary.BigEndian.PutUint64(b[48:56], uint64(sendNs))
	}
}

func check(b []byte) error {
	if len(b) < HeaderLen {
		return ErrShort
	}
	if [4]byte(b[0:4]) != magic {
		return ErrMagic
	}
	if b[4] != Version {
		return fmt.Errorf("%w: %d", ErrVersion, b[4])
	}
	if hl := binary.BigEndian.Uint16(b[6:8]); hl != HeaderLen {
		return fmt.Errorf("%w: %d", ErrLength, hl)
	}
	return nil
}
