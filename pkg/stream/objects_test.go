package stream_test

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/auditpipe/auditpipe/pkg/stream"
)

func TestBodyReaderResolve(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{})
	r := stream.NewBodyReader(e.js)
	ref := func(v string) nats.Header { return nats.Header{stream.HeaderObject: []string{v}} }
	tests := []struct {
		name    string
		header  nats.Header
		want    string
		wantErr error
	}{
		{name: "inline body", header: nats.Header{"Teleport-Event-Type": []string{"exec"}}, want: "data"},
		{name: "no headers", want: "data"},
		{name: "no key", header: ref(stream.DefaultBucket), wantErr: stream.ErrBadReference},
		{name: "missing object", header: ref(stream.DefaultBucket + "/nope"), wantErr: stream.ErrObjectMissing},
		{name: "missing bucket", header: ref("NO_BUCKET/k"), wantErr: stream.ErrObjectMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(testCtx(t), tt.header, []byte("data"))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && string(got) != tt.want) {
				t.Errorf("Resolve = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
