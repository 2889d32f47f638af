//go:build linux

package qos

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestParseOOB(t *testing.T) {
	ts := make([]byte, 16)
	binary.NativeEndian.PutUint64(ts[0:8], 1700000000)
	binary.NativeEndian.PutUint64(ts[8:16], 123456789)
	drops := binary.NativeEndian.AppendUint32(nil, 42)
	oob := append(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts), cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops)...)
	rx, d, ok := parseOOB(oob)
	if rx != 1700000000*1e9+123456789 || d != 42 || !ok {
		t.Fatalf("parseOOB = %d, %d, %v", rx, d, ok)
	}
	if rx, d, ok := parseOOB(nil); rx != 0 || d != 0 || ok {
		t.Fatal("empty oob must yield nothing")
	}
	if n := testing.AllocsPerRun(100, func() { parseOOB(oob) }); n != 0 {
		t.Fatalf("parseOOB allocates %v times", n)
	}
}

// FuzzParseOOB: control data is the kernel's, but a parser must still never
// read out of bounds whatever the bytes.
func FuzzParseOOB(f *testing.F) {
	f.Add([]byte{})
	f.Add(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, []byte{1, 0, 0, 0}))
	f.Add(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, make([]byte, 16)))
	f.Add(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, make([]byte, 3)))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Keep the buffer 8-byte aligned, as the kernel's is.
		buf := make([]uint64, (len(b)+7)/8)
		al := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(buf))), len(buf)*8)[:len(b)]
		copy(al, b)
		parseOOB(al)
	})
}
