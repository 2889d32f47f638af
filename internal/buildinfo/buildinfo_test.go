package buildinfo

import (
	"maps"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want []string
		not  []string
	}{
		{"release", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			[]string{"socklab v1.2.3\n", "  go        go1.26.8 "}, []string{"revision", "time"}},
		{"checkout", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "3bd7a6b0"}, {Key: "vcs.time", Value: "2026-12-02T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			[]string{"socklab (devel)\n", "  revision  3bd7a6b0 (modified)\n", "  time      2026-12-02T10:00:00Z\n"}, nil},
		{"clean checkout", debug.BuildInfo{GoVersion: "go1.26.8", Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "3bd7a6b0"}, {Key: "vcs.modified", Value: "false"}}},
			[]string{"socklab (devel)\n", "  revision  3bd7a6b0\n"}, []string{"modified"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sb strings.Builder
			Parse(&tt.bi).Write(&sb)
			for _, w := range tt.want {
				if !strings.Contains(sb.String(), w) {
					t.Errorf("%q lacks %q", sb.String(), w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(sb.String(), w) {
					t.Errorf("%q has %q", sb.String(), w)
				}
			}
		})
	}
}

func TestBuildInfoGauge(t *testing.T) {
	bi := Parse(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}})
	reg := prometheus.NewRegistry()
	reg.MustRegister(bi.Collector())
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "socklab_build_info" || len(mfs[0].Metric) != 1 {
		t.Fatalf("%v %v", mfs, err)
	}
	m := mfs[0].Metric[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	want := map[string]string{"goversion": "go1.26.8", "modified": "true", "revision": "abc", "version": "v1.2.3"}
	if m.GetGauge().GetValue() != 1 || !maps.Equal(labels, want) {
		t.Fatalf("gauge %v labels %v, want 1 %v", m.GetGauge().GetValue(), labels, want)
	}
}
