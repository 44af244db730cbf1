package shipper_test

import (
	"reflect"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/shipper"
)

func TestMember(t *testing.T) {
	got := shipper.Member([]shipper.SinkStatus{
		{Sink: "fluentd", Delivered: 12},
		{Sink: "datadog", Blocked: true, Delivered: 3},
	})
	want := adminapi.ShipperMember{
		Sinks:     []string{"fluentd", "datadog"},
		Blocked:   []string{"datadog"},
		Delivered: map[string]int64{"fluentd": 12, "datadog": 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Member = %+v, want %+v", got, want)
	}
	if empty := shipper.Member(nil); len(empty.Sinks) != 0 || empty.Blocked != nil {
		t.Fatalf("Member(nil) = %+v", empty)
	}
}
