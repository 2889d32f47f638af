package qoswire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReportGoldenAndRoundTrip(t *testing.T) {
	req := make([]byte, ReportLen)
	if err := MarshalReportRequest(req, 0x0102030405060708); err != nil {
		t.Fatal(err)
	}
	if !IsReportRequest(req) || IsReportRequest(req[:ReportLen-1]) {
		t.Fatal("IsReportRequest")
	}
	ans := bytes.Clone(req)
	want := Report{Received: 1000, DroppedRate: 37, Bytes: 64000, FirstRecv: 1_763_700_000_000_000_000, LastRecv: 1_763_700_010_000_000_000, SocketDrops: 5, Jitter: 12345}
	if err := AnswerReport(ans, want); err != nil {
		t.Fatal(err)
	}
	if IsReportRequest(ans) {
		t.Fatal("an answer is not a request")
	}
	if err := AnswerReport(ans, want); !errors.Is(err, ErrNotReport) {
		t.Fatalf("answering an answer: %v", err)
	}
	for name, got := range map[string][]byte{"report_request_v1.hex": req, "report_v1.hex": ans} {
		path := filepath.Join("testdata", name)
		dump := hex.Dump(got)
		if *update {
			if err := os.WriteFile(path, []byte(dump), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		g, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read golden %s (run with -update to create): %v", path, err)
		}
		if dump != string(g) {
			t.Errorf("%s mismatch:\ngot:\n%s\nwant:\n%s", name, dump, g)
		}
	}
	sess, got, ok, err := ParseReport(ans)
	if err != nil || !ok || sess != 0x0102030405060708 || got != want {
		t.Fatalf("ParseReport = %x %+v %v %v", sess, got, ok, err)
	}
}

// A v1 reflector that does not know reports stamps the request like a probe
// and sends it back: the sender must read "no report", not zero counts.
func TestReportFromOldReflector(t *testing.T) {
	b := make([]byte, ReportLen)
	_ = MarshalReportRequest(b, 9)
	if err := Reflect(b, 1, 2, 3); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := ParseReport(b); ok || err != nil {
		t.Fatalf("old reflector's echo parsed as a report: ok %v err %v", ok, err)
	}
	probe := make([]byte, ReportLen)
	h := Header{Flags: FlagReply, Session: 9}
	_ = h.Marshal(probe)
	if _, _, _, err := ParseReport(probe); !errors.Is(err, ErrNotReport) {
		t.Fatalf("a probe reply parsed as a report: %v", err)
	}
}

func FuzzParseReport(f *testing.F) {
	ans := make([]byte, ReportLen)
	_ = MarshalReportRequest(ans, 1)
	_ = AnswerReport(ans, Report{Received: 5, DroppedRate: 1})
	f.Add(ans)
	f.Add([]byte("SKLQ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sess, r, ok, err := ParseReport(b)
		if err != nil || !ok {
			return
		}
		// A parsed answer re-encodes to the same bytes.
		c := make([]byte, ReportLen)
		_ = MarshalReportRequest(c, sess)
		copy(c[:HeaderLen], b[:HeaderLen])
		c[5] &^= FlagReply
		if err := AnswerReport(c, r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c, b[:ReportLen]) {
			t.Fatalf("re-encode differs:\n%x\n%x", c, b[:ReportLen])
		}
	})
}
