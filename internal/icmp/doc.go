// Package icmp owns socklab's ICMP engines: the socket layer (raw ICMP
// sockets when privileged, unprivileged ICMP datagram "ping" sockets
// otherwise, IPv4 and IPv6), the ping engine (many hosts over one socket per
// family, kernel receive timestamps) and the traceroute engine (UDP, ICMP and
// TCP probes, Paris-style stable flows, replies matched through the quoted
// header). Packet layouts live in the pure sub-package probe.
//
// The engines report through hooks and return results; they never print.
package icmp
