package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// redrivePageSize is how many entries redriving all reads from the DLQ at a time.
const redrivePageSize = 100

// redriveDLQ answers POST /v1/dlq/redrive (adminapi.RedriveRequest) with an
// adminapi.RedriveResult. Each entry — those of IDs, or with All every entry matching Sink and
// Reason, at most adminapi.MaxRedrive per request — is published to the events stream again
// on the redrive subject of ToSink (default: the sink that gave up on it), so that only that
// sink's consumer receives it, and deleted from the DLQ unless Delete is false. An entry that
// fails (not found, publish refused) is listed in Failed and the others go on; the request
// fails only when its input is bad or the DLQ cannot be opened.
func (s *Server) redriveDLQ(w http.ResponseWriter, r *http.Request) {
	body, err := requestBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := decodeRedriveRequest(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dlq, err := s.dlq.open(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rd := newRedrive(s, dlq, req.ToSink, req.Delete == nil || *req.Delete)
	if req.All {
		err = rd.all(r.Context(), req.Sink, req.Reason)
	} else {
		for _, id := range req.IDs {
			rd.one(r.Context(), id)
		}
	}
	if err != nil {
		// The audit log keeps what was redriven before the failure.
		noteOutcome(r, "", "redriven", len(rd.res.Redriven), "failed", len(rd.res.Failed))
		s.writeError(w, r, err)
		return
	}
	noteOutcome(r, "dead letters redriven", "redriven", len(rd.res.Redriven), "failed", len(rd.res.Failed),
		"more", rd.res.More, "to_sink", req.ToSink, "delete", rd.del, "all", req.All)
	writeJSON(w, http.StatusOK, rd.res)
}

// redrive is one redrive request in progress.
type redrive struct {
	s      *Server
	dlq    *stream.DLQ
	toSink string
	del    bool
	// max is the most entries all handles (adminapi.MaxRedrive), pageSize how many it lists
	// at a time (redrivePageSize).
	max, pageSize int
	res           adminapi.RedriveResult
}

func newRedrive(s *Server, dlq *stream.DLQ, toSink string, del bool) *redrive {
	return &redrive{s: s, dlq: dlq, toSink: toSink, del: del, max: adminapi.MaxRedrive, pageSize: redrivePageSize,
		res: adminapi.RedriveResult{Redriven: []adminapi.RedrivenEntry{}}}
}

// all redrives the entries matching sink and reason, a page at a time, until none is left or
// max were handled (then More is set when any is left).
func (rd *redrive) all(ctx context.Context, sink, reason string) error {
	var after uint64
	handled := 0
	for {
		page, err := rd.dlq.List(ctx, stream.ListOptions{Sink: sink, Reason: reason, After: after, Limit: rd.pageSize})
		if err != nil {
			return err
		}
		for _, e := range page.Entries {
			if handled == rd.max {
				rd.res.More = true
				return nil
			}
			rd.one(ctx, e.Seq)
			handled++
		}
		if page.Next == 0 {
			return nil
		}
		after = page.Next
	}
}

// one redrives entry id, recording the outcome in the result. An entry that was published
// but not deleted is listed in both Redriven and Failed.
func (rd *redrive) one(ctx context.Context, id uint64) {
	var (
		res stream.RedriveResult
		err error
	)
	// A kept entry redriven again within the duplicate window is the same message: the
	// stream answers with the first one's sequence, and the redrive is idempotent.
	res, err = rd.dlq.Redrive(ctx, id, stream.RedriveOptions{Sink: rd.toSink, Keep: !rd.del})
	if res.Seq != 0 {
		rd.res.Redriven = append(rd.res.Redriven, adminapi.RedrivenEntry{ID: id, Subject: res.Subject, Seq: res.Seq})
	}
	if err != nil {
		msg := err.Error()
		if errors.Is(err, stream.ErrNotFound) {
			msg = fmt.Sprintf("no dead letter %d", id)
		}
		rd.res.Failed = append(rd.res.Failed, adminapi.FailedEntry{ID: id, Error: msg})
	}
}
