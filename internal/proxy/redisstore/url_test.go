package redisstore

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMultiURL(t *testing.T) {
	tests := []struct {
		in      string
		addrs   string
		master  string
		db      int
		pass    string
		name    string
		wantErr string
	}{
		{in: "redis-cluster://127.0.0.1:7000,127.0.0.1:7001", addrs: "127.0.0.1:7000,127.0.0.1:7001", name: "redis-cluster://127.0.0.1:7000,127.0.0.1:7001"},
		{in: "redis-cluster://:s3cret@127.0.0.1:7000/0", addrs: "127.0.0.1:7000", pass: "s3cret", name: "redis-cluster://127.0.0.1:7000"},
		{in: "redis-cluster://[::1]:7000", addrs: "[::1]:7000", name: "redis-cluster://[::1]:7000"},
		{in: "redis-sentinel://mymaster@127.0.0.1:26379,127.0.0.1:26380/2?password=pw", addrs: "127.0.0.1:26379,127.0.0.1:26380",
			master: "mymaster", db: 2, pass: "pw", name: "redis-sentinel://mymaster@127.0.0.1:26379,127.0.0.1:26380/2"},
		{in: "redis-cluster://127.0.0.1:7000/3", wantErr: "only database 0"},
		{in: "redis-cluster://127.0.0.1", wantErr: "not host:port"},
		{in: "redis-cluster://127.0.0.1:7000,", wantErr: "not host:port"},
		{in: "redis-cluster://:pw@127.0.0.1:99999", wantErr: "not host:port"},
		{in: "redis-sentinel://127.0.0.1:26379", wantErr: "MASTER@"},
		{in: "redis-sentinel://m@127.0.0.1:26379/x", wantErr: "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			uo, name, err := parseMultiURL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrBadURL) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want ErrBadURL with %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), ":pw@") {
					t.Fatalf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(uo.Addrs, ",") != tt.addrs || uo.MasterName != tt.master || uo.DB != tt.db || uo.Password != tt.pass || name != tt.name {
				t.Fatalf("got addrs %v master %q db %d pass %q name %q", uo.Addrs, uo.MasterName, uo.DB, uo.Password, name)
			}
			if uo.IsClusterMode != strings.HasPrefix(tt.in, SchemeCluster) {
				t.Fatal("cluster mode not set from the scheme")
			}
		})
	}
}

func TestIsURL(t *testing.T) {
	for in, want := range map[string]bool{
		"redis://127.0.0.1:6379/0": true, "rediss://127.0.0.1:6380": true, "redis-cluster://127.0.0.1:7000": true,
		"redis-sentinel://m@127.0.0.1:26379": true, "memory": false, "memcached://127.0.0.1": false,
	} {
		if IsURL(in) != want {
			t.Errorf("IsURL(%q) = %v", in, !want)
		}
	}
}

func FuzzParseMultiURL(f *testing.F) {
	for _, s := range []string{"redis-cluster://127.0.0.1:7000,127.0.0.1:7001", "redis-sentinel://m@127.0.0.1:1/2?password=x", "redis-cluster://:p@[::1]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		uo, _, err := parseMultiURL(s)
		if err != nil {
			return
		}
		if len(uo.Addrs) == 0 {
			t.Fatalf("%q: accepted without an address", s)
		}
		if !uo.IsClusterMode && uo.MasterName == "" {
			t.Fatalf("%q: sentinel without a master", s)
		}
	})
}
