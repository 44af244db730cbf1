package ingest

import (
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestWindowFilterTypes: a window's Types (a replay's) narrow the configured filters on both
// read paths, search and export, and an empty intersection reads nothing.
func TestWindowFilterTypes(t *testing.T) {
	t.Parallel()
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	windows := map[string]window.Window{
		"search": {Kind: window.KindSearch, From: day, To: day.Add(time.Hour)},
		"export": {Kind: window.KindExport, From: day, To: day.AddDate(0, 0, 1), Chunk: "c1"},
	}
	at := day.Add(time.Minute)
	ev := func(typ string) event.Event { return event.Event{Kind: event.Audit, Type: typ, Time: at} }
	tests := []struct {
		name        string
		types, skip []string // configured
		windowTypes []string // the replay's
		keep, drop  []string
		none        bool
	}{
		{name: "no filter", keep: []string{"user.login", "exec"}},
		{name: "replay types only", windowTypes: []string{"user.login", "session.start"},
			keep: []string{"user.login", "session.start"}, drop: []string{"exec", "session.upload"}},
		{name: "replay types within configured types", types: []string{"user.login", "exec"}, windowTypes: []string{"user.login", "session.start"},
			keep: []string{"user.login"}, drop: []string{"exec", "session.start"}},
		{name: "skip-event-types still apply", skip: []string{"user.login"}, windowTypes: []string{"user.login", "exec"},
			keep: []string{"exec"}, drop: []string{"user.login", "session.start"}},
		{name: "nothing in common", types: []string{"exec"}, windowTypes: []string{"user.login"}, none: true,
			drop: []string{"exec", "user.login"}},
	}
	for _, tt := range tests {
		f := newFilter(Config{Types: tt.types, SkipEventTypes: tt.skip})
		for kind, w := range windows {
			w.Types = tt.windowTypes
			af := f.window(w, day)
			if af.none != tt.none {
				t.Errorf("%s, %s window: none = %t; want %t", tt.name, kind, af.none, tt.none)
			}
			for _, typ := range tt.keep {
				if !af.keep(ev(typ)) {
					t.Errorf("%s, %s window: %s dropped; want kept", tt.name, kind, typ)
				}
			}
			for _, typ := range tt.drop {
				if af.keep(ev(typ)) {
					t.Errorf("%s, %s window: %s kept; want dropped", tt.name, kind, typ)
				}
			}
		}
	}
}
