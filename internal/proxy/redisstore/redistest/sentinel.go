package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SentinelMaster is the master name StartSentinel monitors.
const SentinelMaster = "socklab"

// Sentinel is a master, one replica and one Sentinel watching them, all
// real redis-server processes on loopback.
type Sentinel struct {
	Master, Replica, Sentinel *Server
}

// StartSentinel starts a master, a replica of it and a Sentinel with
// quorum 1 that declares the master down after one second, and waits until
// the replica is in sync and the Sentinel knows both.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli is not installed (apt-get install redis-tools): the Sentinel test checks the set-up with it")
	}
	s := &Sentinel{Master: Start(t)}
	s.Replica = startWith(t, "--replicaof", "127.0.0.1", strconv.Itoa(s.Master.port))
	s.Sentinel = startWith(t) // the port is only known once chosen: conf below
	s.Sentinel.Kill()
	conf := filepath.Join(s.Sentinel.dir, "sentinel.conf")
	body := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %[1]s 1000\nsentinel failover-timeout %[1]s 5000\n",
		SentinelMaster, s.Master.port)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Sentinel.conf = conf
	s.Sentinel.extra = []string{"--sentinel"}
	s.Sentinel.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for {
		repl := run(cli, s.Replica.port, "info", "replication")
		replicas := run(cli, s.Sentinel.port, "sentinel", "replicas", SentinelMaster)
		if strings.Contains(repl, "master_link_status:up") && strings.Contains(replicas, strconv.Itoa(s.Replica.port)) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("sentinel set-up not ready after 20 s:\n%s\n%s", repl, replicas)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is the redis-sentinel:// URL of database db.
func (s *Sentinel) URL(db int) string {
	return "redis-sentinel://" + SentinelMaster + "@" + s.Sentinel.Addr() + "/" + strconv.Itoa(db)
}

// MasterAddr asks the Sentinel which node is the master now.
func (s *Sentinel) MasterAddr(t testing.TB) string {
	t.Helper()
	cli, _ := exec.LookPath("redis-cli")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, cli, "-h", "127.0.0.1", "-p", strconv.Itoa(s.Sentinel.port),
		"sentinel", "get-master-addr-by-name", SentinelMaster).Output()
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return ""
	}
	return f[0] + ":" + f[1]
}

// startWith is Start with more redis-server arguments.
func startWith(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), extra: extra}
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		if err = s.start(); err == nil {
			break
		}
		if attempt == 2 {
			t.Fatalf("start redis-server: %v", err)
		}
	}
	t.Cleanup(s.Kill)
	return s
}
