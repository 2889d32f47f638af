//go:build !linux

package qos

import "net"

// gsoSegments: segmentation offload is Linux's; elsewhere every probe is
// its own datagram.
func gsoSegments(*net.UDPConn, int) int { return 0 }

func gsoControl(int) []byte { return nil }

func gsoRefused(error) bool { return false }
