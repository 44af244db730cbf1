package redisserver

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// TestWaitReadyWantsItsOwnProcess: when another redis-server bound the chosen port first (a
// parallel test's), the one started here exits — and until it has, the other answers PING on
// the port. waitReady must not take the other for its own.
func TestWaitReadyWantsItsOwnProcess(t *testing.T) {
	if _, err := LookPath(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	other, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Kill)

	// A process that has not exited yet (as a redis-server that is still failing to bind),
	// with the other server's address.
	s := &Server{Addr: other.Addr, cmd: exec.Command("sleep", "30"), exited: make(chan struct{})}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(s.Kill)
	if err := s.waitReady(); !errors.Is(err, ErrPortTaken) {
		t.Fatalf("waitReady with another redis-server on the port = %v; want ErrPortTaken", err)
	}
	if err := other.waitReady(); err != nil {
		t.Fatalf("waitReady of the server on its own port = %v", err)
	}
}
