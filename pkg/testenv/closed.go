package testenv

import (
	"net"
	"testing"
)

// ClosedAddr returns a 127.0.0.1 host:port where nothing listens, for a server that is down:
// a connection to it is refused at once. The port was free a moment before; it stays so unless
// another process happens to bind it.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
