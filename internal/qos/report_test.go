package qos

import (
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/qoswire"
)

func TestWarnings(t *testing.T) {
	for _, c := range []struct {
		name string
		res  Result
		want []string
	}{
		{"clean", Result{Planned: 300, Total: StreamResult{Sent: 300}}, nil},
		{"starved sender", Result{Planned: 300, Total: StreamResult{Sent: 89, Diag: Diagnostics{TimerMisses: 211}}}, []string{WarnSenderBehind}},
		{"a slot short is not behind", Result{Planned: 536, Total: StreamResult{Sent: 531}}, nil},
		// A --count run sends all its probes, late: 5 probes over 18 slots
		// is not "every 1ms" (the menu's QoS option on a busy host).
		{"count run that skipped slots", Result{Planned: 5, Total: StreamResult{Sent: 5, Diag: Diagnostics{TimerMisses: 13}}}, []string{WarnSenderBehind}},
		{"a missed slot is not behind", Result{Planned: 1000, Total: StreamResult{Sent: 1000, Diag: Diagnostics{TimerMisses: 3}}}, nil},
		{"cancelled is not behind", Result{Planned: 300, Interrupted: true, Total: StreamResult{Sent: 89}}, nil},
		{"unbounded burst", Result{Total: StreamResult{Sent: 89}}, nil},
		{"cap, drops, errors", Result{Total: StreamResult{ReflectorDropped: 3, Diag: Diagnostics{RecvDrops: 2, SendErrors: 1}}},
			[]string{WarnReflectorCap, WarnSocketDrops, WarnSendErrors}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, w := range warnings(&c.res) {
				got = append(got, w.Kind)
				if w.Message == "" {
					t.Errorf("%s has no message", w.Kind)
				}
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	w := warnings(&Result{Planned: 300, Total: StreamResult{Sent: 89}})
	if !strings.Contains(w[0].Message, "sent 89 of 300 planned") {
		t.Fatalf("message %q", w[0].Message)
	}
	w = warnings(&Result{Planned: 5, Total: StreamResult{Sent: 5, Diag: Diagnostics{TimerMisses: 13}}})
	if !strings.Contains(w[0].Message, "sent all 5 probes, later than planned (13 of 18 slots missed), schedule error") {
		t.Fatalf("message %q", w[0].Message)
	}
}

func TestApplyReport(t *testing.T) {
	// 100 sent, 60 back: 10 never arrived, 25 dropped by the cap, 5 lost
	// on the way back.
	r := StreamResult{Sent: 100, Received: 60, Lost: 40, LostUp: 35, LostDown: 5}
	applyReport(&r, qoswire.Report{Received: 90, DroppedRate: 25})
	if r.ReflectorDropped != 25 || r.Lost != 15 || r.LostUp != 10 || r.LostDown != 5 || r.LossPct != 15 {
		t.Fatalf("%+v", r)
	}
}
