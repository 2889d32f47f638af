package qoswire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sample() Header {
	return Header{
		Flags:     0,
		Session:   0x0102030405060708,
		Seq:       42,
		SendMono:  1_000_000_123,
		SendWall:  1_763_700_000_000_000_000,
		ReflRecv:  0,
		ReflSend:  0,
		ReflCount: 0,
	}
}

func TestMarshalGolden(t *testing.T) {
	h := sample()
	b := make([]byte, HeaderLen)
	if err := h.Marshal(b); err != nil {
		t.Fatal(err)
	}
	reflected := bytes.Clone(b)
	if err := Reflect(reflected, 1_763_700_000_000_500_000, 1_763_700_000_000_520_000, 7); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"probe_v1.hex": b, "reply_v1.hex": reflected} {
		path := filepath.Join("testdata", name)
		dump := hex.Dump(got)
		if *update {
			if err := os.WriteFile(path, []byte(dump), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read golden %s (run with -update to create): %v", path, err)
		}
		if dump != string(want) {
			t.Errorf("%s mismatch:\ngot:\n%s\nwant:\n%s", name, dump, want)
		}
	}
}

func TestRoundTripAndReflect(t *testing.T) {
	h := sample()
	b := make([]byte, 200)
	for i := range b {
		b[i] = 0xAA
	}
	if err := h.Marshal(b); err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Fatalf("round trip: got %+v, want %+v", got, h)
	}
	if b[HeaderLen] != 0xAA || b[len(b)-1] != 0xAA {
		t.Fatal("Marshal touched the padding")
	}
	if err := Reflect(b, 100, 130, 9); err != nil {
		t.Fatal(err)
	}
	r, _ := Parse(b)
	if !r.IsReply() || r.ReflRecv != 100 || r.ReflSend != 130 || r.ReflCount != 9 || r.Dwell() != 30 {
		t.Fatalf("reflected header wrong: %+v", r)
	}
	if r.Seq != h.Seq || r.Session != h.Session || r.SendMono != h.SendMono || r.SendWall != h.SendWall {
		t.Fatal("Reflect changed sender fields")
	}
	if len(b) != 200 {
		t.Fatal("Reflect changed length")
	}
	if sid, err := SessionOf(b); err != nil || sid != h.Session {
		t.Fatalf("SessionOf = %x, %v", sid, err)
	}
}

func TestParseErrors(t *testing.T) {
	good := make([]byte, HeaderLen)
	h := sample()
	_ = h.Marshal(good)
	mut := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"short", good[:HeaderLen-1], ErrShort},
		{"magic", mut(func(b []byte) { b[0] = 'X' }), ErrMagic},
		{"version", mut(func(b []byte) { b[4] = 2 }), ErrVersion},
		{"length", mut(func(b []byte) { b[7] = 65 }), ErrLength},
		{"plain text", []byte(strings.Repeat("hello world ", 8)), ErrMagic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("Parse err = %v, want %v", err, tt.want)
			}
			if IsProbe(tt.in) {
				t.Fatal("IsProbe = true for invalid input")
			}
			if err := Reflect(bytes.Clone(tt.in), 1, 2, 3); !errors.Is(err, tt.want) {
				t.Fatalf("Reflect err = %v, want %v", err, tt.want)
			}
		})
	}
	if err := h.Marshal(make([]byte, 10)); !errors.Is(err, ErrShort) {
		t.Fatalf("Marshal into short buffer: %v", err)
	}
}

func TestParseAllocatesNothing(t *testing.T) {
	b := make([]byte, HeaderLen)
	h := sample()
	_ = h.Marshal(b)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Parse(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Parse allocates %v times per call", allocs)
	}
}

func FuzzParse(f *testing.F) {
	good := make([]byte, HeaderLen+8)
	h := sample()
	_ = h.Marshal(good)
	f.Add(good)
	f.Add([]byte("SKLQ"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b)
		if err != nil {
			return
		}
		// A parsed header re-marshals to the same 64 bytes.
		out := make([]byte, HeaderLen)
		if err := h.Marshal(out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b[:HeaderLen]) {
			t.Fatalf("re-marshal differs:\n%x\n%x", out, b[:HeaderLen])
		}
		c := bytes.Clone(b)
		if err := Reflect(c, 1, 2, 3); err != nil || len(c) != len(b) {
			t.Fatalf("Reflect on valid probe: %v", err)
		}
	})
}

func TestIsReply(t *testing.T) {
	probe := make([]byte, HeaderLen)
	(&Header{Session: 1}).Marshal(probe)
	reply := append([]byte(nil), probe...)
	Reflect(reply, 1, 2, 1)
	future := append([]byte(nil), reply...)
	future[4] = 9 // another version: still a reply
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"probe", probe, false},
		{"reply", reply, true},
		{"reply of another version", future, true},
		{"short reply", reply[:6], true},
		{"too short", reply[:5], false},
		{"plain data", []byte("hello, world"), false},
	} {
		if got := IsReply(tc.b); got != tc.want {
			t.Errorf("%s: IsReply %v, want %v", tc.name, got, tc.want)
		}
	}
}
