package lock

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// faultProxy is a TCP proxy in front of a Redis server that fails script calls (EVAL and
// EVALSHA, the requests that carry a batch's failed logins) on request, as Redis and the
// network fail them. Every other command passes through. It is safe for concurrent use.
type faultProxy struct {
	upstream string
	lis      net.Listener

	mu     sync.Mutex
	left   int
	kind   sinktest.FailureKind
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// newFaultProxy listens on a free local port and forwards to upstream until the test ends.
func newFaultProxy(t testing.TB, upstream string) *faultProxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{upstream: upstream, lis: lis, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// Addr is the address clients connect to.
func (p *faultProxy) Addr() string { return p.lis.Addr().String() }

// fail makes the next n script calls fail with kind, replacing failures still pending; n <= 0
// ends them:
//   - Transient: "LOADING", Redis's "try again later";
//   - Reset: the connection is reset once the call is read, unanswered;
//   - Hang: the call is read and never answered;
//   - Permanent: "WRONGTYPE", a request Redis will never run as it is;
//   - Unauthorized: "NOPERM", an ACL user that may not run scripts.
func (p *faultProxy) fail(n int, kind sinktest.FailureKind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.left, p.kind = max(n, 0), kind
}

// take consumes one failure, if any is pending, and returns its kind (0: none).
func (p *faultProxy) take() sinktest.FailureKind {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.left == 0 {
		return 0
	}
	p.left--
	return p.kind
}

func (p *faultProxy) close() {
	_ = p.lis.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// track records c so that close ends it; once the proxy is closing it closes c instead and
// reports false.
func (p *faultProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *faultProxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	_ = c.Close()
}

func (p *faultProxy) accept() {
	for {
		client, err := p.lis.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(client) })
	}
}

// serve relays one client connection, one command and its reply at a time.
func (p *faultProxy) serve(client net.Conn) {
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	server, err := net.Dial("tcp", p.upstream)
	if err != nil || !p.track(server) {
		return
	}
	defer p.untrack(server)

	fromClient, fromServer := bufio.NewReader(client), bufio.NewReader(server)
	for {
		cmd, err := readRESP(fromClient)
		if err != nil {
			return
		}
		name := commandName(cmd)
		if name == "EVAL" || name == "EVALSHA" {
			switch p.take() {
			case sinktest.Transient:
				if _, err := io.WriteString(client, "-LOADING Redis is loading the dataset in memory\r\n"); err != nil {
					return
				}
				continue
			case sinktest.Permanent:
				if _, err := io.WriteString(client, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"); err != nil {
					return
				}
				continue
			case sinktest.Unauthorized:
				if _, err := fmt.Fprintf(client, "-NOPERM User default has no permissions to run the '%s' command\r\n", strings.ToLower(name)); err != nil {
					return
				}
				continue
			case sinktest.Reset:
				if tcp, ok := client.(*net.TCPConn); ok {
					_ = tcp.SetLinger(0) // close with a RST
				}
				return
			case sinktest.Hang:
				_, _ = io.Copy(io.Discard, fromClient) // until the client gives up
				return
			}
		}
		if _, err := server.Write(cmd); err != nil {
			return
		}
		reply, err := readRESP(fromServer)
		if err != nil {
			return
		}
		if _, err := client.Write(reply); err != nil {
			return
		}
	}
}

// readRESP reads one RESP2 or RESP3 value and returns its bytes as they were on the wire.
func readRESP(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("malformed RESP line %q", line)
	}
	head := string(line[1 : len(line)-2])
	switch line[0] {
	case '+', '-', ':', ',', '#', '_', '(':
		return line, nil
	case '$', '=', '!': // bulk: n bytes and CRLF
		n, err := strconv.Atoi(head)
		if err != nil || n < 0 {
			return line, err
		}
		body := make([]byte, n+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, err
		}
		return append(line, body...), nil
	case '*', '~', '>', '%', '|': // aggregates: n values, or n pairs
		n, err := strconv.Atoi(head)
		if err != nil || n < 0 {
			return line, err
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		if line[0] == '|' {
			n++ // an attribute precedes the value it describes
		}
		out := line
		for range n {
			v, err := readRESP(r)
			if err != nil {
				return nil, err
			}
			out = append(out, v...)
		}
		return out, nil
	}
	return nil, errors.New("unknown RESP type " + strconv.Quote(string(line[:1])))
}

// commandName returns the upper-cased name of a command sent as an array of bulk strings
// ("*N\r\n$L\r\nNAME\r\n…").
func commandName(cmd []byte) string {
	parts := bytes.SplitN(cmd, []byte("\r\n"), 4)
	if len(parts) < 3 {
		return ""
	}
	return strings.ToUpper(string(parts[2]))
}
