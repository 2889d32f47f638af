package icmp

import (
	"encoding/binary"
	"unsafe"
)

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }

// nativeInt32 reads a control-message int, which the kernel writes in host
// byte order.
func nativeInt32(b []byte) int32 { return int32(binary.NativeEndian.Uint32(b)) }

// nativeUint32 reads a kernel struct field in host byte order.
func nativeUint32(b []byte) uint32 { return binary.NativeEndian.Uint32(b) }
