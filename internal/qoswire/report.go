package qoswire

import (
	"encoding/binary"
	"fmt"
)

// A report is how a sender learns, at the end of a run, what the reflector
// counted for its session: the probes that arrived and the ones the
// reflector dropped by its own policy (its rate cap), which are the
// instrument's limit and not the path's loss. The sender asks with a report
// request, a v1 header with FlagReport set for its session and ReportLen
// bytes long; the reflector answers in place (FlagReply set, the body
// filled), so the answer is never larger than the question.
//
// Body (big-endian, after the 64-byte header):
//
//	64  received      uint64, probes of the session that arrived (dropped ones included)
//	72  dropped rate  uint64, of those, dropped by the reflector's rate cap
//	80  bytes         uint64, payload bytes of the probes that arrived
//	88  first recv    int64 ns since Unix epoch, reflector clock, first probe
//	96  last recv     int64 ns since Unix epoch, reflector clock, last probe
//	104 socket drops  uint64, datagrams the reflector's socket dropped (receive
//	                  queue full, any sender's) since the session's first probe
//	112 jitter        int64 ns, RFC 3550 interarrival jitter of one-way probes
//	                  (FlagOneWay), from their send-wall stamps; 0 otherwise
//
// A request carries all-ones in the body, which a v1 reflector that does
// not know reports echoes unchanged: the sender reads that as "no report",
// never as zero counts.

// FlagReport marks a report request (and, with FlagReply, its answer).
const FlagReport uint8 = 1 << 1

// ReportLen is the size of a report request and of its answer.
const ReportLen = HeaderLen + 56

// Report is what a reflector counted for one session.
type Report struct {
	Received    uint64
	DroppedRate uint64
	Bytes       uint64
	FirstRecv   int64 // Unix ns; 0 when nothing arrived
	LastRecv    int64
	// SocketDrops is what the reflector's socket dropped while the session
	// ran, whoever sent it: part of the upstream loss may be these.
	SocketDrops uint64
	// Jitter is the RFC 3550 §6.4.1 interarrival jitter (ns) of the
	// session's one-way probes, as the reflector saw them arrive.
	Jitter int64
}

// FlagOneWay marks a probe the reflector counts and times but does not
// answer: throughput and loss measured one way, as iperf3 does, read back
// at the end with a report.
const FlagOneWay uint8 = 1 << 2

// unknown is the body of a request: all ones.
const unknown = ^uint64(0)

// MarshalReportRequest writes a report request for session into
// b[:ReportLen]; b must be at least that long.
func MarshalReportRequest(b []byte, session uint64) error {
	if len(b) < ReportLen {
		return fmt.Errorf("qoswire: report request into %d bytes: %w", len(b), ErrShort)
	}
	h := Header{Flags: FlagReport, Session: session}
	if err := h.Marshal(b); err != nil {
		return err
	}
	for off := HeaderLen; off < ReportLen; off += 8 {
		binary.BigEndian.PutUint64(b[off:], unknown)
	}
	return nil
}

// IsReportRequest reports whether b is a report request (not yet answered).
func IsReportRequest(b []byte) bool {
	return len(b) >= ReportLen && check(b) == nil && b[5]&FlagReport != 0 && b[5]&FlagReply == 0
}

// AnswerReport fills a report request in place with r and marks it a reply.
func AnswerReport(b []byte, r Report) error {
	if !IsReportRequest(b) {
		return fmt.Errorf("qoswire: answer report: %w", ErrNotReport)
	}
	b[5] |= FlagReply
	binary.BigEndian.PutUint64(b[64:72], r.Received)
	binary.BigEndian.PutUint64(b[72:80], r.DroppedRate)
	binary.BigEndian.PutUint64(b[80:88], r.Bytes)
	binary.BigEndian.PutUint64(b[88:96], uint64(r.FirstRecv))
	binary.BigEndian.PutUint64(b[96:104], uint64(r.LastRecv))
	binary.BigEndian.PutUint64(b[104:112], r.SocketDrops)
	binary.BigEndian.PutUint64(b[112:120], uint64(r.Jitter))
	return nil
}

// ParseReport decodes an answered report. ok is false when the answer came
// from a reflector that does not report (the body is still the request's).
func ParseReport(b []byte) (session uint64, r Report, ok bool, err error) {
	if err := check(b); err != nil {
		return 0, Report{}, false, err
	}
	if len(b) < ReportLen || b[5]&(FlagReport|FlagReply) != FlagReport|FlagReply {
		return 0, Report{}, false, ErrNotReport
	}
	session = binary.BigEndian.Uint64(b[8:16])
	r = Report{
		Received:    binary.BigEndian.Uint64(b[64:72]),
		DroppedRate: binary.BigEndian.Uint64(b[72:80]),
		Bytes:       binary.BigEndian.Uint64(b[80:88]),
		FirstRecv:   int64(binary.BigEndian.Uint64(b[88:96])),
		LastRecv:    int64(binary.BigEndian.Uint64(b[96:104])),
		SocketDrops: binary.BigEndian.Uint64(b[104:112]),
		Jitter:      int64(binary.BigEndian.Uint64(b[112:120])),
	}
	if r.Received == unknown && r.DroppedRate == unknown {
		return session, Report{}, false, nil
	}
	return session, r, true, nil
}
