package capture

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/socklab/socklab/internal/qoswire"
)

const tcpdumpPath = "/usr/bin/tcpdump"

// reflect runs a minimal qoswire reflector on conn until it is closed.
func reflectProbes(conn net.PacketConn) {
	buf := make([]byte, 2048)
	var count uint64
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			return
		}
		recv := time.Now().UnixNano()
		count++
		if qoswire.Reflect(buf[:n], recv, time.Now().UnixNano(), count) == nil {
			conn.WriteTo(buf[:n], addr)
		}
	}
}

// startTcpdump captures iface into file with filter and returns once
// tcpdump says it is listening.
func startTcpdump(t *testing.T, iface, file, filter string, extra ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	// -Z root: stay root so the capture can be written into the test's
	// private temporary directory; -U: write each packet as it comes.
	args := append([]string{"-i", iface, "-n", "-U", "-Z", "root", "-w", file}, extra...)
	cmd := exec.CommandContext(ctx, tcpdumpPath, append(args, filter)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tcpdump: %v", err)
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), "listening on") {
				ready <- nil
				io.Copy(io.Discard, stderr)
				return
			}
		}
		ready <- fmt.Errorf("tcpdump exited: %s", strings.Join(lines, "; "))
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("tcpdump did not start listening within 20 s")
	}
	return cmd
}

// analyzeUntil re-reads the growing capture until it holds at least want
// packets (tcpdump may still be flushing the last ones), bounded in time.
func analyzeUntil(t *testing.T, file string, want int64) *Result {
	t.Helper()
	var res *Result
	for range 100 {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		res, err = Analyze(context.Background(), f, Config{})
		f.Close()
		if err == nil && res.Packets >= want {
			return res
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("capture never reached %d packets (last: %+v)", want, res)
	return nil
}

func TestTcpdumpCapture(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: tcpdump captures on lo")
	}
	if _, err := os.Stat(tcpdumpPath); err != nil {
		t.Skipf("needs %s (apt-get install tcpdump): %v", tcpdumpPath, err)
	}
	// lo: Ethernet link type, microsecond pcap; any: Linux cooked SLL2,
	// nanosecond pcap.
	t.Run("lo", func(t *testing.T) { tcpdumpOn(t, "lo") })
	t.Run("any", func(t *testing.T) { tcpdumpOn(t, "any", "--time-stamp-precision=nano") })
}

func tcpdumpOn(t *testing.T, iface string, extra ...string) {
	refl, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer refl.Close()
	go reflectProbes(refl)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from the capture test")
	}))
	defer web.Close()
	client, err := net.DialUDP("udp", nil, refl.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	reflPort := refl.LocalAddr().(*net.UDPAddr).Port
	webPort := web.Listener.Addr().(*net.TCPAddr).Port
	file := t.TempDir() + "/lo.pcap"
	const pingID = 0x7a11
	filter := fmt.Sprintf("host 127.0.0.1 and (udp port %d or tcp port %d or (icmp and icmp[4:2] == %d))", reflPort, webPort, pingID)
	cmd := startTcpdump(t, iface, file, filter, extra...)
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	}()

	const probes = 50
	buf := make([]byte, 200)
	reply := make([]byte, 2048)
	for seq := range uint64(probes) {
		now := time.Now().UnixNano()
		h := qoswire.Header{Session: 0x5eed, Seq: seq, SendMono: now, SendWall: now}
		h.Marshal(buf)
		if _, err := client.Write(buf); err != nil {
			t.Fatal(err)
		}
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := client.Read(reply); err != nil {
			t.Fatalf("probe %d: no reply: %v", seq, err)
		}
	}
	resp, err := http.Get(web.URL + "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	web.CloseClientConnections()
	const pings = 5
	sendPings(t, pingID, pings)

	// 100 probe packets, 10 ICMP echoes and at least the TCP handshake,
	// request and response.
	res := analyzeUntil(t, file, 2*probes+2*pings+5)
	var udp, tcp, ping *FlowReport
	for i := range res.Flows {
		switch res.Flows[i].Protocol {
		case "udp":
			udp = &res.Flows[i]
		case "tcp":
			tcp = &res.Flows[i]
		case "icmp":
			ping = &res.Flows[i]
		}
	}
	if udp == nil || tcp == nil || ping == nil {
		t.Fatalf("flows %+v", res.Flows)
	}
	t.Logf("tcpdump on %s: %s, link %v, %d packets", iface, res.Format, res.LinkTypes, res.Packets)
	if udp.Server != refl.LocalAddr().String() || udp.PacketsFwd != probes || udp.PacketsRev != probes {
		t.Fatalf("udp flow %s → %s: %d/%d packets, want %d each way", udp.Client, udp.Server, udp.PacketsFwd, udp.PacketsRev, probes)
	}
	if len(udp.QoS) != 1 {
		t.Fatalf("qos sessions %+v", udp.QoS)
	}
	q := udp.QoS[0]
	if q.Session != "0000000000005eed" || q.Sent != probes || q.Received != probes || q.Lost != 0 ||
		q.Duplicates != 0 || q.Reordered != 0 || q.RTT == nil || q.RTT.Samples != probes || q.RTT.MinMs <= 0 {
		t.Fatalf("qos %+v rtt %+v", q, q.RTT)
	}
	if tcp.TCP == nil || tcp.TCP.HandshakeRTTMs == nil || tcp.TCP.Retransmissions != 0 {
		t.Fatalf("tcp %+v", tcp.TCP)
	}
	if h := tcp.HTTP; h == nil || h.Requests != 1 || h.Statuses["200"] != 1 || h.Methods["GET"] != 1 {
		t.Fatalf("http %+v", tcp.HTTP)
	}
	if c := ping.ICMP; c == nil || c.Identifier != pingID || c.Requests != pings || c.Replies != pings || c.Lost != 0 ||
		c.RTT == nil || c.RTT.Samples != pings {
		t.Fatalf("icmp %+v", ping.ICMP)
	}
}

// sendPings sends n ICMP echo requests with identifier id to 127.0.0.1 from
// a raw socket and waits for each reply (the kernel answers them).
func sendPings(t *testing.T, id, n int) {
	t.Helper()
	c, err := icmp.ListenPacket("ip4:icmp", "127.0.0.1")
	if err != nil {
		t.Fatalf("raw icmp socket: %v", err)
	}
	defer c.Close()
	dst := &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}
	buf := make([]byte, 1500)
	for seq := 1; seq <= n; seq++ {
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("socklab capture test")}}
		b, err := msg.Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WriteTo(b, dst); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			c.SetReadDeadline(deadline)
			m, _, err := c.ReadFrom(buf)
			if err != nil {
				t.Fatalf("ping %d: no reply: %v", seq, err)
			}
			rm, err := icmp.ParseMessage(1, buf[:m])
			if err != nil {
				continue
			}
			if e, ok := rm.Body.(*icmp.Echo); ok && rm.Type == ipv4.ICMPTypeEchoReply && e.ID == id && e.Seq == seq {
				break
			}
		}
	}
}
