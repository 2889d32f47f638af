package icmp

import (
	"errors"
	"net/netip"
	"time"
)

// Packet is one ICMP message read from a Conn.
type Packet struct {
	// Data is the ICMP message, IP header removed; it aliases the read buffer.
	Data []byte
	From netip.Addr
	// TTL is the reply's TTL / hop limit, -1 when the kernel did not say.
	TTL int
	// Kernel is the kernel's receive timestamp (SO_TIMESTAMPNS, wall clock),
	// zero when unavailable.
	Kernel time.Time
	// Read is time.Now() just after the read returned (it carries the
	// monotonic clock reading).
	Read time.Time
}

// Conn is one ICMP socket for one address family. The ping and traceroute
// engines use nothing else, so tests can substitute a fake.
type Conn interface {
	// ReadPacket blocks for the next message; after Close it returns an error
	// wrapping net.ErrClosed.
	ReadPacket(buf []byte) (Packet, error)
	// WriteTo sends an ICMP message to dst with the given TTL / hop limit
	// (0: the system default).
	WriteTo(msg []byte, dst netip.Addr, ttl int) error
	// Raw reports whether this is a raw socket: the echo id we write is
	// kept. On a datagram socket the kernel replaces it with its own.
	Raw() bool
	Close() error
}

// SocketMode selects the kind of ICMP socket.
type SocketMode int

const (
	// SocketAuto tries a raw socket, then an ICMP datagram socket.
	SocketAuto SocketMode = iota
	// SocketRaw needs root or CAP_NET_RAW.
	SocketRaw
	// SocketDatagram needs the caller's group inside
	// net.ipv4.ping_group_range (which also governs IPv6).
	SocketDatagram
)

// PMTU is the path-MTU discovery policy of ping's -M.
type PMTU int

const (
	// PMTUDefault leaves the kernel's setting alone.
	PMTUDefault PMTU = iota
	// PMTUDo sets DF / refuses to fragment ("-M do").
	PMTUDo
	// PMTUDont lets packets be fragmented ("-M dont").
	PMTUDont
)

// ListenConfig describes the socket to open.
type ListenConfig struct {
	V6   bool
	Mode SocketMode
	PMTU PMTU
	// Device binds the socket to one network interface (SO_BINDTODEVICE,
	// iputils' -I); empty means any.
	Device string
}

// ErrNoPermission is returned (wrapped) when neither a raw nor a datagram
// ICMP socket may be opened; its text names both remedies.
var ErrNoPermission = errors.New("no permission for ICMP sockets: run as root or with CAP_NET_RAW (raw sockets), or widen net.ipv4.ping_group_range to include your group, e.g. sysctl -w net.ipv4.ping_group_range=\"0 2147483647\" (datagram sockets)")
