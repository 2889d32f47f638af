package redisstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// URL schemes of --cache-store beside "memory".
const (
	SchemeRedis    = "redis://"          // one server: redis://[:password@]host:port/db
	SchemeRedisTLS = "rediss://"         // the same over TLS
	SchemeCluster  = "redis-cluster://"  // redis-cluster://[:password@]h1:p1,h2:p2,... (seed nodes)
	SchemeSentinel = "redis-sentinel://" // redis-sentinel://master@h1:p1,h2:p2,.../db (sentinels)
)

// IsURL reports whether spec names a Redis store this package opens.
func IsURL(spec string) bool {
	for _, s := range []string{SchemeRedis, SchemeRedisTLS, SchemeCluster, SchemeSentinel} {
		if strings.HasPrefix(spec, s) {
			return true
		}
	}
	return false
}

// ErrBadURL is wrapped by the errors of a store URL that does not parse.
var ErrBadURL = errors.New("bad redis store url")

// newClient opens the client spec names, with every wait bounded by
// timeout and no retries (see NewRemote), and a name for messages without
// the password.
func newClient(spec string, timeout time.Duration) (conn, string, error) {
	switch {
	case strings.HasPrefix(spec, SchemeCluster), strings.HasPrefix(spec, SchemeSentinel):
		uo, name, err := parseMultiURL(spec)
		if err != nil {
			return conn{}, "", err
		}
		uo.DialTimeout, uo.ReadTimeout, uo.WriteTimeout, uo.PoolTimeout = timeout, timeout, timeout, timeout
		uo.ContextTimeoutEnabled = true
		uo.MaxRetries = -1
		uo.DialerRetries = 1
		uo.DisableIdentity = true
		uo.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
		return universal(uo), name, nil
	}
	ro, err := redis.ParseURL(spec)
	if err != nil {
		return conn{}, "", fmt.Errorf("%w %q: %w", ErrBadURL, spec, err)
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = timeout, timeout, timeout, timeout
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = -1
	ro.DialerRetries = 1
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return clientConn(redis.NewClient(ro)), "redis://" + ro.Addr + "/" + strconv.Itoa(ro.DB), nil
}

// parseMultiURL reads a redis-cluster:// or redis-sentinel:// URL: a list
// of host:port seeds separated by commas. A cluster has no databases (only
// /0); a sentinel URL names the master before the @ and may pick a
// database. Passwords: the cluster's in the userinfo (:password@); for
// Sentinel, ?password= (the master's) and ?sentinel_password=.
func parseMultiURL(spec string) (*redis.UniversalOptions, string, error) {
	cluster := strings.HasPrefix(spec, SchemeCluster)
	rest := strings.TrimPrefix(strings.TrimPrefix(spec, SchemeCluster), SchemeSentinel)
	bad := func(why string) (*redis.UniversalOptions, string, error) {
		return nil, "", fmt.Errorf("%w %q: %s", ErrBadURL, redactSpec(spec), why)
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return bad("query: " + err.Error())
	}
	uo := &redis.UniversalOptions{IsClusterMode: cluster}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user := rest[:at]
		rest = rest[at+1:]
		if cluster {
			u, p, _ := strings.Cut(user, ":")
			uo.Username, uo.Password = u, p
		} else {
			uo.MasterName = user
		}
	}
	hosts, path, _ := strings.Cut(rest, "/")
	if path != "" {
		db, err := strconv.Atoi(path)
		switch {
		case err != nil || db < 0:
			return bad("database " + strconv.Quote(path) + " is not a number")
		case cluster && db != 0:
			return bad("a cluster has only database 0")
		}
		uo.DB = db
	}
	for h := range strings.SplitSeq(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return bad(strconv.Quote(h) + " is not host:port")
		}
		uo.Addrs = append(uo.Addrs, h)
	}
	if !cluster {
		if uo.MasterName == "" {
			return bad("want redis-sentinel://MASTER@host:port,...")
		}
		uo.Password = query.Get("password")
		uo.SentinelPassword = query.Get("sentinel_password")
	}
	name := SchemeCluster + hosts
	if !cluster {
		name = SchemeSentinel + uo.MasterName + "@" + hosts + "/" + strconv.Itoa(uo.DB)
	}
	return uo, name, nil
}

// redactSpec drops a cluster URL's password from an error message.
func redactSpec(spec string) string {
	if strings.HasPrefix(spec, SchemeCluster) {
		rest := strings.TrimPrefix(spec, SchemeCluster)
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			return SchemeCluster + "***@" + rest[at+1:]
		}
	}
	if i := strings.Index(spec, "password="); i >= 0 {
		return spec[:i] + "password=***"
	}
	return spec
}

// universal opens the client NewUniversalClient picks for the options
// parseMultiURL makes: a cluster, or a master found through Sentinel.
// parseMultiURL never sets MasterName together with cluster mode or
// latency/random routing, so NewUniversalClient's Sentinel-routed cluster
// client could not be chosen, but calling it linked that client (7 KB).
func universal(o *redis.UniversalOptions) conn {
	if o.IsClusterMode {
		return clusterConn(redis.NewClusterClient(o.Cluster()))
	}
	return clientConn(redis.NewFailoverClient(o.Failover()))
}
