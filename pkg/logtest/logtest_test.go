package logtest_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/logtest"
)

// Writers on many goroutines and a reader at once (go test -race): every line arrives whole,
// and Wait returns the line it waited for as soon as it is written.
func TestBufferConcurrent(t *testing.T) {
	var b logtest.Buffer
	log := slog.New(slog.NewJSONHandler(&b, nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				log.Info("tick", "writer", i, "n", j)
			}
		})
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		log.Info("ready", "addr", "127.0.0.1:1")
	}()
	line := b.Wait(t, 10*time.Second, "the ready line", logtest.Contains(`"msg":"ready"`))
	if !strings.Contains(line, `"addr":"127.0.0.1:1"`) || strings.HasSuffix(line, "\n") {
		t.Errorf("Wait = %q; want the ready line without its newline", line)
	}
	wg.Wait()
	recs := b.Records(t)
	if len(recs) != 8*50+1 {
		t.Fatalf("%d records; want %d", len(recs), 8*50+1)
	}
	if _, ok := b.Find(logtest.Contains(`"n":49`)); !ok {
		t.Error("Find: no last tick")
	}
	if line, ok := b.Find(logtest.Contains("nowhere")); ok || line != "" {
		t.Errorf("Find = %q, %v; want nothing", line, ok)
	}
}

// fatalT records Fatalf and ends the goroutine, as testing.T does.
type fatalT struct {
	testing.TB
	msg string
}

func (f *fatalT) Helper() {}

func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitFailsAfterTimeout(t *testing.T) {
	var b logtest.Buffer
	fmt.Fprintln(&b, "something else")
	f := &fatalT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Wait(f, 100*time.Millisecond, "the ready line", logtest.Contains("ready"))
	}()
	<-done
	if !strings.Contains(f.msg, "the ready line not logged within 100ms") || !strings.Contains(f.msg, "something else") {
		t.Errorf("Fatalf(%q); want what, the timeout and the log", f.msg)
	}
}

func TestRecordsFailsOnText(t *testing.T) {
	var b logtest.Buffer
	fmt.Fprintln(&b, `{"msg":"a"}`)
	fmt.Fprintln(&b, "not JSON")
	f := &fatalT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Records(f)
	}()
	<-done
	if !strings.Contains(f.msg, `log line "not JSON\n"`) {
		t.Errorf("Fatalf(%q); want the line that is not JSON", f.msg)
	}
}
