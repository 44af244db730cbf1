// Package redisserver starts and stops a throw-away redis-server process, and talks to a Redis
// by address for the few things that need no configuration: PING and deleting a key prefix.
//
// It serves the tests (package testenv) and the one-machine demo (package demo), which both
// need a private Redis with no set-up: a redis-server from PATH on a free port of 127.0.0.1,
// with no persistence, its files in a directory the caller owns.
package redisserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Binary is the name of the server program looked up in PATH.
const Binary = "redis-server"

// ReadyTimeout bounds how long Start waits for a started server to answer PING.
const ReadyTimeout = 10 * time.Second

// stopTimeout bounds how long Stop waits for the server to exit after SIGTERM before it kills
// it.
const stopTimeout = 5 * time.Second

// ErrNotInstalled: redis-server is not on PATH.
var ErrNotInstalled = errors.New("redis-server is not on PATH")

// ErrPortTaken: another Redis answers on the port chosen for a server, which another process
// bound first; the server started on it exits.
var ErrPortTaken = errors.New("another redis-server took the port")

// Server is a running redis-server started by Start.
type Server struct {
	// Addr is 127.0.0.1:port.
	Addr string
	// Dir is the server's working directory (the caller's), LogFile its log in Dir.
	Dir     string
	LogFile string

	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has exited
	exitErr  error         // set before exited is closed
	stopOnce sync.Once
}

// LookPath returns the path of redis-server in PATH, or an error wrapping ErrNotInstalled.
func LookPath() (string, error) {
	path, err := exec.LookPath(Binary)
	if err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNotInstalled, err)
	}
	return path, nil
}

// Start runs redis-server from PATH; see StartPath.
func Start(dir string) (*Server, error) {
	path, err := LookPath()
	if err != nil {
		return nil, err
	}
	return StartPath(path, dir)
}

// StartPath runs the redis-server at path on a free port of 127.0.0.1, without persistence
// (no RDB snapshots, no AOF), with dir as its working directory and log directory, and waits
// until it answers (ReadyTimeout) as the process started here (ProcessID). Another process may
// take the free port between the choice and the server's bind: it tries five ports before
// giving up. The error of a server that did not come up quotes the end of its log.
//
// The server runs in a process group of its own, so that a Ctrl-C in the terminal reaches the
// caller, which stops it in its own time with Stop; on Linux it is also killed when the
// caller dies without stopping it.
func StartPath(path, dir string) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{
			Addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Dir:     dir,
			LogFile: filepath.Join(dir, fmt.Sprintf("redis-%d.log", port)),
			exited:  make(chan struct{}),
		}
		s.cmd = exec.Command(path,
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
			"--save", "", "--appendonly", "no", "--logfile", s.LogFile)
		s.cmd.SysProcAttr = sysProcAttr()
		if err := s.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", path, err)
		}
		go func() {
			s.exitErr = s.cmd.Wait()
			close(s.exited)
		}()
		if err := s.waitReady(); err != nil {
			_ = s.cmd.Process.Kill()
			<-s.exited
			lastErr = fmt.Errorf("%w (log: %s)", err, Tail(s.LogFile, 5))
			continue
		}
		return s, nil
	}
	return nil, lastErr
}

func (s *Server) waitReady() error {
	deadline := time.Now().Add(ReadyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("redis-server exited: %v", s.exitErr)
		default:
		}
		// The port was free when chosen; another redis-server (a parallel test's) may have
		// bound it since, and this one exits. Only the process started here will do.
		if pid, err := ProcessID(context.Background(), s.Addr, ""); err == nil {
			if pid != s.cmd.Process.Pid {
				return fmt.Errorf("%w: process %d answers on %s, not %d", ErrPortTaken, pid, s.Addr, s.cmd.Process.Pid)
			}
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on %s did not answer within %v", s.Addr, ReadyTimeout)
}

// Stop ends the server: SIGTERM, then SIGKILL if it has not exited within a few seconds. It
// waits for the process and may be called more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// Kill ends the server at once (SIGKILL) and waits for it; Stop after Kill does nothing.
func (s *Server) Kill() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
	})
}

// ProcessID returns the process id of the Redis that answers at addr (INFO server's
// process_id), authenticated with password when it is not empty, within a second, without
// retries. A server started on a port chosen free is the one answering only if the ids match.
func ProcessID(ctx context.Context, addr, password string) (int, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, Password: password, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("redisserver: INFO server from %s has no process_id", addr)
}

// Ping checks that the Redis at addr answers PING within a second, without retries.
func Ping(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// DeletePrefix deletes every key of the Redis at addr that starts with prefix (SCAN, then DEL
// in batches) and returns how many it deleted. prefix must not be empty.
func DeletePrefix(ctx context.Context, addr, prefix string) (int, error) {
	if prefix == "" {
		return 0, errors.New("redisserver: DeletePrefix needs a prefix")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deleted := 0
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := c.Del(ctx, batch...).Result()
		deleted += int(n)
		batch = batch[:0]
		return err
	}
	iter := c.Scan(ctx, 0, escapeGlob(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return deleted, fmt.Errorf("redisserver: delete %s*: %w", prefix, err)
			}
		}
	}
	if err := errors.Join(iter.Err(), flush()); err != nil {
		return deleted, fmt.Errorf("redisserver: delete %s*: %w", prefix, err)
	}
	return deleted, nil
}

// escapeGlob escapes the characters SCAN MATCH treats specially.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Tail returns the last n lines of a log file joined with " | ", for error messages; "no log"
// when it cannot be read.
func Tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "no log"
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, " | ")
}
