package udprelay

import (
	"testing"
	"time"
)

// BenchmarkRoundTrip sends 64-byte datagrams through the relay to an echo
// server and back, 32 in flight: the relay's cost per datagram each way.
func BenchmarkRoundTrip(b *testing.B) {
	echo := echoServer(b)
	_, addr := startRelayB(b, Config{Upstream: echo.LocalAddr().String()})
	conn := dialB(b, addr)
	p := make([]byte, 64)
	buf := make([]byte, 2048)
	const window = 32
	b.ResetTimer()
	sent, got := 0, 0
	for got < b.N {
		for sent < b.N && sent-got < window {
			conn.Write(p)
			sent++
		}
		conn.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := conn.Read(buf); err != nil {
			got = sent // a loss: move on
			continue
		}
		got++
	}
}
