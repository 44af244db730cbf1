package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/auditpipe/auditpipe/pkg/window"
)

// Mode is how an epoch's audit log is read.
type Mode string

const (
	// ModeAuto probes Teleport: export mode when it serves the bulk export API, else search.
	ModeAuto Mode = ""
	// ModeSearch reads search windows with SearchUnstructuredEvents.
	ModeSearch Mode = "search"
	// ModeExport reads the export chunks of each UTC day.
	ModeExport Mode = "export"
)

// ErrModeConflict: Config.Mode forces a mode other than the one the epoch runs in.
var ErrModeConflict = errors.New("ingest: mode conflicts with the epoch's")

func parseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeAuto, ModeSearch, ModeExport:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q (want %q, %q or empty for auto)", s, ModeSearch, ModeExport)
}

// modeFor returns the mode of an epoch: the recorded one, else Config.Mode or the probe's
// answer, recorded by the first replica to ask (HSETNX), so every replica and every restart
// reads an epoch by one path. A forced mode that differs from the recorded one is
// ErrModeConflict: the admin resets the start time to change modes.
func (e *Engine) modeFor(ctx context.Context, epoch window.Epoch) (Mode, error) {
	e.modeMu.Lock()
	defer e.modeMu.Unlock()
	if e.modeEpoch == epoch.Number && e.mode != ModeAuto {
		return e.mode, nil
	}
	recorded, err := e.store.Mode(ctx, epoch.Number)
	if err != nil {
		return "", fmt.Errorf("ingest: %w", err)
	}
	if recorded == "" {
		want := e.cfg.Mode
		if want == ModeAuto {
			if want, err = e.probe(ctx); err != nil {
				return "", err
			}
		}
		if recorded, err = e.store.RecordMode(ctx, epoch.Number, string(want)); err != nil {
			return "", fmt.Errorf("ingest: %w", err)
		}
	}
	mode, err := parseMode(recorded)
	if err != nil || mode == ModeAuto {
		return "", fmt.Errorf("ingest: epoch %d has a bad recorded mode %q", epoch.Number, recorded)
	}
	if e.cfg.Mode != ModeAuto && e.cfg.Mode != mode {
		return "", fmt.Errorf("%w: configured %s, epoch %d runs in %s mode; reset the start time to change modes",
			ErrModeConflict, e.cfg.Mode, epoch.Number, mode)
	}
	if e.mode != mode || e.modeEpoch != epoch.Number {
		e.log.Info("mode", "epoch", epoch.Number, "mode", mode, "start", epoch.Start)
	}
	e.mode, e.modeEpoch = mode, epoch.Number
	return mode, nil
}

// probe asks Teleport whether it serves the bulk export API, retrying transient errors; a
// NotImplemented error means no, as does false.
func (e *Engine) probe(ctx context.Context) (Mode, error) {
	ok, err := call(ctx, e.retrier("probe-export"), func() (bool, error) { return e.src.ProbeExport(ctx) })
	if class, isSource := classOf(err); isSource && class == NotImplemented {
		return ModeSearch, nil
	}
	if err != nil {
		return "", err
	}
	if ok {
		return ModeExport, nil
	}
	return ModeSearch, nil
}

// currentMode is the mode of the epoch asked last, for Status.
func (e *Engine) currentMode() Mode {
	e.modeMu.Lock()
	defer e.modeMu.Unlock()
	return e.mode
}
