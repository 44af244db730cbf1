package fluentd_test

import (
	"testing"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

func TestSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, sinktest.Peer) {
		peer := fluentdtest.New(t)
		return newSink(t, peer), peer
	})
}

func TestSuiteGzip(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, sinktest.Peer) {
		peer := fluentdtest.New(t)
		return newSink(t, peer, fluentd.WithGzip()), peer
	})
}

// newSink makes a Sink for peer's configuration and closes it with the test.
func newSink(t testing.TB, peer *fluentdtest.Server, opts ...fluentd.Option) *fluentd.Sink {
	t.Helper()
	s, err := newSinkFor(t, peer.Config(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newSinkFor makes a Sink for cfg and, when it could, closes it with the test.
func newSinkFor(t testing.TB, cfg config.Fluentd, opts ...fluentd.Option) (*fluentd.Sink, error) {
	s, err := fluentd.New(cfg, opts...)
	if err == nil {
		t.Cleanup(s.Close)
	}
	return s, err
}
