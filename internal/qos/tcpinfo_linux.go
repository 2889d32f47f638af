//go:build linux

package qos

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// readTCPInfo asks the kernel for the connection's TCP_INFO. On the
// receiving side the smoothed RTT comes from the receiver's estimate when
// the kernel has one (we send almost nothing to time), and losses show as
// segments arriving out of order, since the retransmitting is the sender's.
func readTCPInfo(c *net.TCPConn) tcpInfo {
	rc, err := c.SyscallConn()
	if err != nil {
		return tcpInfo{}
	}
	var ti tcpInfo
	_ = rc.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return
		}
		ti = tcpInfo{
			ok:      true,
			rtt:     time.Duration(info.Rtt) * time.Microsecond,
			rttvar:  time.Duration(info.Rttvar) * time.Microsecond,
			retrans: int64(info.Total_retrans),
			ooo:     int64(info.Rcv_ooopack),
			mss:     int(info.Rcv_mss),
			cwnd:    int(info.Snd_cwnd),
		}
		if info.Rcv_rtt > 0 {
			ti.rtt = time.Duration(info.Rcv_rtt) * time.Microsecond
		}
	})
	return ti
}
