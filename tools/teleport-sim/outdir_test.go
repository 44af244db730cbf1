package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"
)

// The documented command line puts the manifest and the ready file inside --out, which does
// not exist yet: run creates it rather than failing on the manifest, written first.
func TestRunCreatesTheDirectoryOfTheManifest(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sim", "out")
	args := []string{
		"--listen", "127.0.0.1:0", "--out", out,
		"--ready-file", filepath.Join(out, "ready.json"), "--manifest", filepath.Join(out, "manifest.jsonl"),
		"--count", "50", "--from", "2025-01-26T00:00:00Z", "--to", "2025-01-27T00:00:00Z", "--log-level", "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan error, 1)
	go func() { exited <- run(ctx, args, io.Discard, io.Discard) }()

	r := waitReady(t, filepath.Join(out, "ready.json"), exited)
	if r.Manifest != filepath.Join(out, "manifest.jsonl") {
		t.Fatalf("ready file names manifest %q", r.Manifest)
	}
	if n := countLines(t, r.Manifest); n < 50 {
		t.Fatalf("manifest has %d entries for 50 events", n)
	}
	handshake(t, r)
	cancel()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}
