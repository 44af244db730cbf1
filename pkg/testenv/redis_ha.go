package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/redisserver"
)

// Redis Sentinel and Redis Cluster for tests that need the real thing: both are redis-server
// processes from PATH (Sentinel is redis-server --sentinel), on free ports of 127.0.0.1, with
// no persistence, stopped at cleanup. Unlike [Redis] they have no REDIS_ADDR or container
// fallback: without redis-server on PATH the test is skipped, or fails when CI=true.

// RedisSentinelOptions sets up [RedisSentinel].
type RedisSentinelOptions struct {
	// MasterName is the master set the Sentinel monitors; "mymaster" when empty.
	MasterName string
	// Password is the master's requirepass (the Sentinel authenticates with it); none when
	// empty.
	Password string
	// SentinelPassword is the Sentinel's own requirepass; none when empty.
	SentinelPassword string
}

// RedisSentinelServer is a Redis master and one Sentinel that monitors it, owned by one test.
type RedisSentinelServer struct {
	// MasterName is the master set's name, MasterAddr the master's host:port.
	MasterName string
	MasterAddr string
	// SentinelAddr is the Sentinel's host:port.
	SentinelAddr string
	// Password and SentinelPassword are as in RedisSentinelOptions.
	Password, SentinelPassword string
	// Prefix is a key prefix unique to this call, as [RedisServer.Prefix].
	Prefix string
}

// RedisSentinel starts a master and a Sentinel that monitors it (quorum 1), and returns once
// the Sentinel names the master.
func RedisSentinel(t testing.TB, opts RedisSentinelOptions) *RedisSentinelServer {
	t.Helper()
	path := redisServerPath(t)
	s := &RedisSentinelServer{
		MasterName:       opts.MasterName,
		Password:         opts.Password,
		SentinelPassword: opts.SentinelPassword,
		Prefix:           fmt.Sprintf("test:%d:%d:", os.Getpid(), prefixSeq.Add(1)),
	}
	if s.MasterName == "" {
		s.MasterName = "mymaster"
	}
	var err error
	s.MasterAddr, err = startRedisProc(t, path, s.Password, func(port int, dir string) []string {
		args := redisArgs(port, dir)
		if s.Password != "" {
			args = append(args, "--requirepass", s.Password)
		}
		return args
	})
	if err != nil {
		unavailable(t, "redis-server (Sentinel's master): %v", err)
		return nil
	}
	host, masterPort, _ := net.SplitHostPort(s.MasterAddr)
	s.SentinelAddr, err = startRedisProc(t, path, s.SentinelPassword, func(port int, dir string) []string {
		// A Sentinel needs a configuration file it can rewrite.
		conf := []string{
			"bind 127.0.0.1",
			"port " + strconv.Itoa(port),
			"dir " + dir,
			fmt.Sprintf("sentinel monitor %s %s %s 1", s.MasterName, host, masterPort),
			fmt.Sprintf("sentinel down-after-milliseconds %s 5000", s.MasterName),
		}
		if s.Password != "" {
			conf = append(conf, fmt.Sprintf("sentinel auth-pass %s %s", s.MasterName, s.Password))
		}
		if s.SentinelPassword != "" {
			conf = append(conf, "requirepass "+s.SentinelPassword)
		}
		file := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", port))
		if err := os.WriteFile(file, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
			t.Fatalf("testenv: write %s: %v", file, err)
		}
		return []string{file, "--sentinel"}
	})
	if err != nil {
		unavailable(t, "redis-server --sentinel: %v", err)
		return nil
	}
	c := redis.NewSentinelClient(&redis.Options{Addr: s.SentinelAddr, Password: s.SentinelPassword})
	defer c.Close()
	err = waitFor(10*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		got, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
		if err == nil && net.JoinHostPort(got[0], got[1]) != s.MasterAddr {
			err = fmt.Errorf("the Sentinel names %v as the master, want %s", got, s.MasterAddr)
		}
		return err
	})
	if err != nil {
		t.Fatalf("testenv: Sentinel on %s: %v", s.SentinelAddr, err)
	}
	return s
}

// Master returns a client of the master itself (not through the Sentinel), closed at the
// test's cleanup.
func (s *RedisSentinelServer) Master(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.MasterAddr, Password: s.Password})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// RedisCluster starts a one-node Redis Cluster: a redis-server with cluster-enabled that owns
// all 16384 slots. It is a real Cluster to its clients: they discover it with CLUSTER SLOTS,
// and the server refuses a command or script whose keys hash to different slots
// (CROSSSLOT), which is what code that must run on a Cluster has to get right. The returned
// server's Source is "redis-server cluster"; its Client is a single-server client, which a
// one-node Cluster also answers.
func RedisCluster(t testing.TB) *RedisServer {
	t.Helper()
	path := redisServerPath(t)
	addr, err := startRedisProc(t, path, "", func(port int, dir string) []string {
		return append(redisArgs(port, dir), "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port)),
			"--cluster-announce-ip", "127.0.0.1")
	})
	if err != nil {
		unavailable(t, "redis-server --cluster-enabled yes: %v", err)
		return nil
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	slots := make([]int, 16384) // CLUSTER ADDSLOTS, not ADDSLOTSRANGE: Redis 6 has only that
	for i := range slots {
		slots[i] = i
	}
	if err := c.ClusterAddSlots(ctx, slots...).Err(); err != nil {
		t.Fatalf("testenv: CLUSTER ADDSLOTS on %s: %v", addr, err)
	}
	err = waitFor(10*time.Second, func() error {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && !strings.Contains(info, "cluster_state:ok") {
			err = errors.New("cluster_state is not ok")
		}
		return err
	})
	if err != nil {
		t.Fatalf("testenv: Redis Cluster on %s: %v", addr, err)
	}
	return &RedisServer{Addr: addr, Prefix: fmt.Sprintf("test:%d:%d:", os.Getpid(), prefixSeq.Add(1)), Source: "redis-server cluster"}
}

// redisServerPath is redis-server's path, or ends the test as unavailable.
func redisServerPath(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "redis-server is not on PATH (needed for Sentinel and Cluster tests)")
	}
	return path
}

// redisArgs are the arguments of a throw-away redis-server on port with its files in dir.
func redisArgs(port int, dir string) []string {
	return []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
		"--save", "", "--appendonly", "no"}
}

// startRedisProc runs path (redis-server) with the arguments args gives for a free port and a
// temporary directory, plus --logfile, and waits until it answers, authenticated with password
// when it is not empty, as the process started here (redisserver.ProcessID). Another process
// may take the port before redis-server binds it: it tries five. It kills the process at
// cleanup.
func startRedisProc(t testing.TB, path, password string, args func(port int, dir string) []string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	var lastErr error
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		logPath := filepath.Join(dir, fmt.Sprintf("redis-%d.log", port))
		cmd := exec.Command(path, append(args(port, dir), "--logfile", logPath)...)
		if err := cmd.Start(); err != nil {
			return "", fmt.Errorf("start: %w", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		err = waitFor(10*time.Second, func() error {
			select {
			case err := <-exited:
				exited <- err
				return fmt.Errorf("%w: redis-server exited: %v", errStop, err)
			default:
			}
			// Another redis-server (a parallel test's) may have bound the port first, this
			// one exiting: only the process started here will do.
			pid, err := redisserver.ProcessID(context.Background(), addr, password)
			if err == nil && pid != cmd.Process.Pid {
				return fmt.Errorf("%w: %w: process %d answers on %s, not %d", errStop, redisserver.ErrPortTaken, pid, addr, cmd.Process.Pid)
			}
			return err
		})
		if err != nil {
			_ = cmd.Process.Kill()
			<-exited
			lastErr = fmt.Errorf("%w (log: %s)", err, logTail(logPath))
			continue
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		return addr, nil
	}
	return "", lastErr
}

// errStop ends waitFor at once.
var errStop = errors.New("stop waiting")

// waitFor calls try every 20 ms until it returns nil, returns an error wrapping errStop, or
// timeout passes; it returns try's last error.
func waitFor(timeout time.Duration, try func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := try()
		if err == nil || errors.Is(err, errStop) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v: %w", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logTail is the last lines of a log file, for error messages.
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}
