package window_test

import (
	"testing"
)

func TestRecordMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.replica(), e.replica()
	ctx := t.Context()
	if got, err := a.Mode(ctx, 1); err != nil || got != "" {
		t.Fatalf("Mode before any record = %q, %v; want empty", got, err)
	}
	if got, err := a.RecordMode(ctx, 1, "export"); err != nil || got != "export" {
		t.Fatalf("first RecordMode = %q, %v", got, err)
	}
	// A second replica's different answer does not change the epoch's mode.
	if got, err := b.RecordMode(ctx, 1, "search"); err != nil || got != "export" {
		t.Fatalf("second RecordMode = %q, %v; want the first replica's export", got, err)
	}
	if got, err := b.Mode(ctx, 1); err != nil || got != "export" {
		t.Fatalf("Mode = %q, %v", got, err)
	}
	// Each epoch has its own.
	if got, err := b.RecordMode(ctx, 2, "search"); err != nil || got != "search" {
		t.Fatalf("epoch 2 RecordMode = %q, %v", got, err)
	}
	if _, err := a.RecordMode(ctx, 3, ""); err == nil {
		t.Fatal("RecordMode accepted an empty mode")
	}
}
