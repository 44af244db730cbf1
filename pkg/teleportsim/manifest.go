package teleportsim

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
)

// Manifest yields an entry for every event the Log holds, until yield returns false: the audit
// events in time order (late ones included, visible or not; live ones appended so far), then the
// events of every uploaded recording, session by session in index order. Audit events that a
// recording repeats appear twice, once per Kind, with the same uid and hash. Safe for concurrent
// use; events appended meanwhile may or may not be included.
func (l *Log) Manifest(yield func(ManifestEntry) bool) {
	for _, m := range l.base {
		if !yield(manifestEntry(l.render(m))) {
			return
		}
	}
	for _, m := range l.liveSnapshot() {
		if !yield(manifestEntry(l.render(m))) {
			return
		}
	}
	errStop := errors.New("stop")
	recording := func(n int32) bool {
		return l.recording(n, 0, func(ev Event) error {
			if !yield(manifestEntry(ev)) {
				return errStop
			}
			return nil
		}) == nil
	}
	for n := range len(l.sessions) {
		if !recording(int32(n)) {
			return
		}
	}
	l.mu.RLock()
	var live []int32
	for i, s := range l.liveSessions {
		if s.uploaded {
			live = append(live, int32(len(l.sessions)+i))
		}
	}
	l.mu.RUnlock()
	for _, n := range live {
		if !recording(n) {
			return
		}
	}
}

// WriteManifest writes the Manifest to w as JSON lines, one ManifestEntry per line.
func (l *Log) WriteManifest(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	var err error
	l.Manifest(func(e ManifestEntry) bool {
		err = enc.Encode(e)
		return err == nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// manifestEntry describes ev.
func manifestEntry(ev Event) ManifestEntry {
	sum := sha256.Sum256(ev.JSON)
	return ManifestEntry{
		UID:       ev.UID,
		Type:      ev.Type,
		Time:      ev.Time,
		Kind:      ev.Kind,
		SessionID: ev.SessionID,
		Index:     ev.Index,
		SHA256:    hex.EncodeToString(sum[:]),
	}
}
