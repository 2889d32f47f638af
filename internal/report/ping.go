package report

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/icmp/icmpresult"
	"github.com/socklab/socklab/internal/stats"
)

// PingHeader is iputils' first line for one host.
func PingHeader(name string, addr netip.Addr, size int) string {
	if addr.Is6() {
		return fmt.Sprintf("PING %s (%s) %d data bytes", name, addr, size)
	}
	return fmt.Sprintf("PING %s (%s) %d(%d) bytes of data.", name, addr, size, size+28)
}

// FormatPingEvent renders one reply or error line as iputils does
// (ping_common.c); stamps prefixes ping -D's UNIX time.
func FormatPingEvent(ev icmpresult.PingEvent, stamps bool) string {
	var b strings.Builder
	if stamps {
		fmt.Fprintf(&b, "[%d.%06d] ", ev.At.Unix(), ev.At.Nanosecond()/1000)
	}
	if ev.Kind == icmpresult.PingError {
		fmt.Fprintf(&b, "From %s icmp_seq=%d %s", ev.From, ev.Seq, ev.Message)
		return b.String()
	}
	fmt.Fprintf(&b, "%d bytes from %s: icmp_seq=%d", ev.Bytes, ev.From, ev.Seq)
	if ev.TTL >= 0 {
		fmt.Fprintf(&b, " ttl=%d", ev.TTL)
	}
	fmt.Fprintf(&b, " time=%s ms", formatReplyTime(ev.RTT))
	if ev.Dup {
		b.WriteString(" (DUP!)")
	}
	return b.String()
}

// formatReplyTime prints fewer decimals as the time grows, as iputils does:
// three below 1 ms, two below 10 ms, one below 100 ms, none above.
func formatReplyTime(d time.Duration) string {
	us := d.Microseconds()
	switch {
	case us >= 100000:
		return strconv.FormatInt(us/1000, 10)
	case us >= 10000:
		return fmt.Sprintf("%d.%01d", us/1000, us%1000/100)
	case us >= 1000:
		return fmt.Sprintf("%d.%02d", us/1000, us%1000/10)
	}
	return fmt.Sprintf("%d.%03d", us/1000, us%1000)
}

// WritePingSummary writes iputils' closing statistics for one host.
func WritePingSummary(w io.Writer, name string, h icmpresult.HostResult) error {
	ew := &errWriter{w: w}
	ew.printf("\n--- %s ping statistics ---\n", name)
	ew.printf("%d packets transmitted, %d received", h.Transmitted, h.Received)
	if h.Duplicates > 0 {
		ew.printf(", +%d duplicates", h.Duplicates)
	}
	if h.Errors > 0 {
		ew.printf(", +%d errors", h.Errors)
	}
	if h.Transmitted > 0 {
		// iputils prints the loss with %g of a float: 33.3333%.
		ew.printf(", %s%% packet loss, time %dms", strconv.FormatFloat(float64(float32(h.LossPercent())), 'g', 6, 32), h.Elapsed.Milliseconds())
	}
	ew.printf("\n")
	if h.RTT.N() > 0 {
		ew.printf("rtt min/avg/max/mdev = %s/%s/%s/%s ms\n", MsMicros(h.RTT.Min()), MsMicros(h.RTT.Mean()), MsMicros(h.RTT.Max()), MsMicros(h.RTT.Stddev()))
	}
	return ew.err
}

// MsMicros prints milliseconds cut to whole microseconds, as iputils' "%ld.%03ld".
func MsMicros(ms float64) string {
	us := int64(ms * 1000)
	return fmt.Sprintf("%d.%03d", us/1000, us%1000)
}

// PingTarget is one host as typed and the address it resolved to.
type PingTarget struct {
	Name string
	Addr netip.Addr
}

// PingReplyDoc is one reply or error of the ping --json document.
type PingReplyDoc struct {
	Seq   int      `json:"seq"`
	From  string   `json:"from"`
	Bytes int      `json:"bytes,omitempty"`
	TTL   *int     `json:"ttl,omitempty"`
	RTTMs *float64 `json:"rtt_ms,omitempty"`
	Dup   bool     `json:"dup,omitempty"`
	Error string   `json:"error,omitempty"`
	Local bool     `json:"local,omitempty"` // the error is this host's: the request was never sent
}

// PingHostDoc is one host of the ping --json document; rtt is null when no
// reply came.
type PingHostDoc struct {
	Host        string         `json:"host"`
	Address     string         `json:"address"`
	Transmitted int            `json:"transmitted"`
	Received    int            `json:"received"`
	Duplicates  int            `json:"duplicates"`
	Errors      int            `json:"errors"`
	LossPct     float64        `json:"loss_pct"`
	TimeMs      float64        `json:"time_ms"`
	RTT         *LatencyDoc    `json:"rtt"`
	Replies     []PingReplyDoc `json:"replies"`
}

// PingDoc is the ping --json document.
type PingDoc struct {
	Hosts []PingHostDoc `json:"hosts"`
}

// PingJSON builds the --json document from the run's result and every
// reply and error event it reported, in order. The RTT percentiles come
// from the first replies (duplicates excluded, as the summary's).
func PingJSON(targets []PingTarget, res icmpresult.PingResult, events []icmpresult.PingEvent) PingDoc {
	hosts := make([]PingHostDoc, 0, len(res.Hosts))
	hists := make([]*stats.Histogram, len(res.Hosts))
	for i, h := range res.Hosts {
		hosts = append(hosts, PingHostDoc{
			Host: targets[i].Name, Address: h.Host.String(),
			Transmitted: h.Transmitted, Received: h.Received, Duplicates: h.Duplicates, Errors: h.Errors,
			LossPct: h.LossPercent(), TimeMs: ms(h.Elapsed), Replies: []PingReplyDoc{},
		})
		hists[i] = stats.NewHistogram()
	}
	for _, ev := range events {
		for i := range res.Hosts {
			if res.Hosts[i].Host != ev.Host {
				continue
			}
			hosts[i].Replies = append(hosts[i].Replies, pingReplyDoc(ev))
			if ev.Kind == icmpresult.PingReply && !ev.Dup {
				hists[i].Record(int64(ev.RTT))
			}
			break
		}
	}
	for i, h := range res.Hosts {
		if h.RTT.N() > 0 {
			l := histLatencyDoc(hists[i], &res.Hosts[i].RTT)
			hosts[i].RTT = &l
		}
	}
	return PingDoc{Hosts: hosts}
}

func pingReplyDoc(ev icmpresult.PingEvent) PingReplyDoc {
	r := PingReplyDoc{Seq: ev.Seq, From: ev.From.String(), Dup: ev.Dup}
	switch ev.Kind {
	case icmpresult.PingError:
		r.Error = ev.Message
		return r
	case icmpresult.PingLocalError:
		r.Error, r.Local = ev.Message, true
		return r
	}
	rtt := ms(ev.RTT)
	r.RTTMs, r.Bytes = &rtt, ev.Bytes
	if ev.TTL >= 0 {
		ttl := ev.TTL
		r.TTL = &ttl
	}
	return r
}
