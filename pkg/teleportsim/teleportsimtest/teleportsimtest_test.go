package teleportsimtest_test

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsim/teleportsimtest"
)

// Start serves at once, with its credentials written to a temporary directory.
func TestStart(t *testing.T) {
	log, err := teleportsim.NewLog(teleportsim.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := teleportsimtest.Start(t, teleportsim.ServerConfig{Log: log})
	conn, err := net.DialTimeout("tcp", srv.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial the simulator: %v", err)
	}
	conn.Close()
	if _, err := os.Stat(srv.Credentials().Identity); err != nil {
		t.Errorf("identity file: %v", err)
	}
}
