package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// getStatus answers GET /v1/status with adminapi.Status. Everything in Redis must be read
// (else 503); the stream, its consumers and the DLQ are read from JetStream, and what cannot
// be read there is reported in the body (StreamStatus.Error, DLQStatus.Error) rather than
// failing the request, so the status shows a NATS outage instead of hiding everything else.
func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.status(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) status(ctx context.Context) (adminapi.Status, error) {
	now := s.now().UTC()
	st := adminapi.Status{Time: now}
	var err error
	if st.Ingest, err = s.ingestStatus(ctx); err != nil {
		return adminapi.Status{}, err
	}
	if st.Replays, err = s.replaySummary(ctx); err != nil {
		return adminapi.Status{}, err
	}
	if st.Replicas, err = s.replicaStatus(ctx); err != nil {
		return adminapi.Status{}, err
	}
	if newest := newestEvent(st.Replicas[replicas.ServiceIngest]); !newest.IsZero() {
		st.Ingest.Newest = newest
		st.Ingest.LagSeconds = max(0, now.Sub(newest).Seconds())
	}
	st.Stream, st.Consumers = s.streamStatus(ctx)
	st.DLQ = s.dlqStatus(ctx)
	return st, nil
}

// ingestStatus reads the epoch, its mode and windows, the session jobs and the pause flag.
func (s *Server) ingestStatus(ctx context.Context) (adminapi.IngestStatus, error) {
	var in adminapi.IngestStatus
	epoch, err := s.store.CurrentEpoch(ctx)
	switch {
	case errors.Is(err, window.ErrNotFound): // ingest never started: epoch 0
	case err != nil:
		return in, err
	default:
		in.Epoch, in.StartTime, in.PlannedUntil = epoch.Number, epoch.Start, epoch.PlannedUntil
		if in.Mode, err = s.store.Mode(ctx, epoch.Number); err != nil {
			return in, err
		}
		windows, err := s.store.EpochCounts(ctx, epoch.Number)
		if err != nil {
			return in, err
		}
		in.Windows = apiCounts(windows)
	}
	sessions, err := s.store.SessionCounts(ctx)
	if err != nil {
		return in, err
	}
	in.Sessions, in.SessionsInProgress = apiCounts(sessions), sessions.Leased
	if in.SessionsMissing, err = s.store.MissingSessions(ctx); err != nil {
		return in, err
	}
	if in.Paused, in.PausedAt, err = s.store.Paused(ctx); err != nil {
		return in, err
	}
	return in, nil
}

// replaySummary counts the replays by state.
func (s *Server) replaySummary(ctx context.Context) (adminapi.ReplaySummary, error) {
	all, err := s.store.Replays(ctx)
	if err != nil {
		return adminapi.ReplaySummary{}, err
	}
	var sum adminapi.ReplaySummary
	for _, rp := range all {
		switch rp.State {
		case window.ReplayActive:
			sum.Active++
		case window.ReplayDone:
			sum.Done++
		case window.ReplayCancelled:
			sum.Cancelled++
		}
	}
	return sum, nil
}

// replicaStatus lists the live replicas of every service, each service with a (maybe empty)
// list.
func (s *Server) replicaStatus(ctx context.Context) (map[string][]adminapi.Member, error) {
	out := map[string][]adminapi.Member{}
	for _, service := range []string{replicas.ServiceIngest, replicas.ServiceShipper, replicas.ServiceAdmin} {
		reps, err := s.registry.List(ctx, service)
		if err != nil {
			return nil, err
		}
		members := make([]adminapi.Member, 0, len(reps))
		for _, rep := range reps {
			members = append(members, adminapi.Member{ID: rep.ID, Version: rep.Version,
				Started: rep.Started, Seen: rep.Seen, Status: rep.Status})
		}
		out[service] = members
	}
	return out, nil
}

// newestEvent is the newest event time that any of the ingest members reports; zero when none
// does. A status that is not an adminapi.IngestMember is skipped.
func newestEvent(ingest []adminapi.Member) time.Time {
	var newest time.Time
	for _, m := range ingest {
		var st adminapi.IngestMember
		if len(m.Status) == 0 || json.Unmarshal(m.Status, &st) != nil {
			continue
		}
		if st.NewestEvent.After(newest) {
			newest = st.NewestEvent
		}
	}
	return newest.UTC()
}

// streamStatus reads the events stream and the consumers of its sinks (names starting with
// "sink-"), sorted by name. Errors go into StreamStatus.Error.
func (s *Server) streamStatus(ctx context.Context) (adminapi.StreamStatus, []adminapi.ConsumerStatus) {
	name := cmp.Or(s.cfg.NATS.Stream, stream.DefaultName)
	out := adminapi.StreamStatus{Name: name}
	consumers := []adminapi.ConsumerStatus{}
	str, err := s.js.Stream(ctx, name)
	if err != nil {
		out.Error = err.Error()
		return out, consumers
	}
	info, err := str.Info(ctx)
	if err != nil {
		out.Error = err.Error()
		return out, consumers
	}
	state := info.State
	out.Messages, out.Bytes, out.FirstSeq, out.LastSeq = state.Msgs, state.Bytes, state.FirstSeq, state.LastSeq
	if state.Msgs > 0 {
		out.FirstTime, out.LastTime = state.FirstTime.UTC(), state.LastTime.UTC()
	}
	lister := str.ListConsumers(ctx)
	for ci := range lister.Info() {
		sink, ok := strings.CutPrefix(ci.Name, stream.ConsumerPrefix)
		if !ok {
			continue
		}
		consumers = append(consumers, adminapi.ConsumerStatus{
			Sink:        sink,
			Name:        ci.Name,
			Pending:     ci.NumPending,
			AckPending:  ci.NumAckPending,
			Redelivered: ci.NumRedelivered,
			Waiting:     ci.NumWaiting,
			Delivered:   ci.Delivered.Stream,
			AckFloor:    ci.AckFloor.Stream,
		})
	}
	if err := lister.Err(); err != nil {
		out.Error = "list consumers: " + err.Error()
	}
	slices.SortFunc(consumers, func(a, b adminapi.ConsumerStatus) int { return strings.Compare(a.Name, b.Name) })
	return out, consumers
}

// dlqStatus counts the dead letters by sink. Errors go into DLQStatus.Error.
func (s *Server) dlqStatus(ctx context.Context) adminapi.DLQStatus {
	out := adminapi.DLQStatus{BySink: map[string]uint64{}}
	q, err := s.dlq.open(ctx)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	counts, err := q.Counts(ctx)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	for sink, n := range counts {
		out.BySink[sink] = n
		out.Total += n
	}
	return out
}

// apiCounts is the wire form of window counts.
func apiCounts(c window.Counts) adminapi.Counts {
	return adminapi.Counts{Pending: c.Pending, Leased: c.Leased, Done: c.Done,
		Cancelled: c.Cancelled, Failed: c.Failed, Total: c.Total()}
}
