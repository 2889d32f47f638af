package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxClusterPort keeps a node's cluster bus port (port + 10000) a valid
// port.
const maxClusterPort = 55535

// Cluster is a Redis Cluster of real redis-server processes on loopback.
type Cluster struct {
	Nodes []*Server
}

// StartCluster runs masters × (1 + replicas) redis-server nodes in cluster
// mode and joins them with redis-cli --cluster create, then waits until
// every node reports cluster_state:ok and every replica is in sync. A node
// is declared failed after one second (cluster-node-timeout), so a
// failover test is quick. It skips when redis-server or redis-cli is
// missing.
func StartCluster(t testing.TB, masters, replicas int) *Cluster {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server): the Redis Cluster tests need real nodes")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli is not installed (apt-get install redis-tools): it creates the test cluster")
	}
	c := &Cluster{}
	for range masters * (1 + replicas) {
		s := &Server{t: t, bin: bin, dir: t.TempDir()}
		for attempt := 0; ; attempt++ {
			s.port = clusterPort(t)
			s.extra = []string{"--cluster-enabled", "yes", "--cluster-config-file", s.dir + "/nodes.conf",
				"--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0"}
			if err = s.start(); err == nil {
				break
			}
			if attempt == 2 {
				t.Fatalf("start cluster node: %v", err)
			}
		}
		t.Cleanup(s.Kill)
		c.Nodes = append(c.Nodes, s)
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitReady(t, cli, replicas > 0)
	return c
}

// URL is the redis-cluster:// URL naming every node as a seed.
func (c *Cluster) URL() string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	return "redis-cluster://" + strings.Join(addrs, ",")
}

// Node returns the node listening on addr, nil if none.
func (c *Cluster) Node(addr string) *Server {
	for _, n := range c.Nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

// waitReady polls every node's CLUSTER INFO until the state is ok and the
// slots are all assigned, and, with replicas, INFO replication until every
// replica's link to its master is up, for at most 30 s.
func (c *Cluster) waitReady(t testing.TB, cli string, replicas bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range c.Nodes {
		for {
			info := run(cli, n.port, "cluster", "info")
			repl := run(cli, n.port, "info", "replication")
			ok := strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_slots_ok:16384")
			if replicas && strings.Contains(repl, "role:slave") {
				ok = ok && strings.Contains(repl, "master_link_status:up") && !strings.Contains(repl, "master_sync_in_progress:1")
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster node %s not ready after 30 s:\n%s\n%s", n.Addr(), info, repl)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func run(cli string, port int, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, cli, append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(port)}, args...)...).Output()
	return strings.ReplaceAll(string(out), "\r", "")
}

// clusterPort picks a free loopback port below maxClusterPort whose bus
// port (+10000) is free too.
func clusterPort(t testing.TB) int {
	t.Helper()
	for range 200 {
		var lc net.ListenConfig
		ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if p > maxClusterPort {
			// The ephemeral range is usually above it: try below.
			p = 20000 + p%30000
		}
		if free(p) && free(p+10000) {
			return p
		}
	}
	t.Fatal("no free port pair (port, port+10000) below 55536 on loopback")
	return 0
}

func free(port int) bool {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
