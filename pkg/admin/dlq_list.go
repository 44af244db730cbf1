package admin

import (
	"net/http"
	"net/url"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// maxPageBody bounds the event bodies of one DLQ page: a page stops early (with Next set)
// rather than grow past it, however large the limit. A single entry larger than it still
// makes a page of one.
const maxPageBody = 8 << 20

// listDLQ answers GET /v1/dlq?sink=&reason=&after=&limit= (see parseDLQQuery) with an
// adminapi.DLQPage of dead letters, oldest first. Next is the after of the next page, 0 when
// there is none.
func (s *Server) listDLQ(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.writeError(w, r, badRequest("malformed query: %v", err))
		return
	}
	opts, err := parseDLQQuery(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dlq, err := s.dlq.open(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := dlq.List(r.Context(), opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := adminapi.DLQPage{Entries: make([]adminapi.DeadLetter, 0, len(page.Entries)), Next: page.Next}
	size := 0
	for i, e := range page.Entries {
		if i > 0 && size+len(e.Body) > s.pageBodyLimit {
			out.Next = page.Entries[i-1].Seq
			break
		}
		size += len(e.Body)
		out.Entries = append(out.Entries, deadLetter(e))
	}
	writeJSON(w, http.StatusOK, out)
}
