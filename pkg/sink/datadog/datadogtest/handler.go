package datadogtest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// maxWireBytes bounds the request body the intake reads.
const maxWireBytes = 64 << 20

// serve answers one request (see the package documentation).
func (in *Intake) serve(w http.ResponseWriter, r *http.Request) {
	req := Request{Path: r.URL.Path, Encoding: r.Header.Get("Content-Encoding")}
	wire, err := io.ReadAll(io.LimitReader(r.Body, maxWireBytes+1))
	req.WireBytes = len(wire)
	in.mu.Lock()
	fail, latency := in.take()
	in.mu.Unlock()
	if !in.wait(r, latency) {
		in.record(req, nil)
		return
	}
	switch {
	case err != nil:
		in.answer(w, req, http.StatusBadRequest, "cannot read the body: "+err.Error())
	case len(wire) > maxWireBytes:
		in.answer(w, req, http.StatusRequestEntityTooLarge, "body too large")
	case fail != nil:
		in.fail(w, r, req, *fail)
	default:
		in.accept(w, r, req, wire)
	}
}

// wait waits d, or until the client gives up or the test ends; it reports whether d passed.
func (in *Intake) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
	case <-in.closing:
	}
	return false
}

// fail answers req with the injected failure f.
func (in *Intake) fail(w http.ResponseWriter, r *http.Request, req Request, f Failure) {
	req.Failure = &f
	switch {
	case f.Hang:
		in.record(req, nil)
		select {
		case <-r.Context().Done():
		case <-in.closing:
		}
		// Never an answer: returning would make net/http send an implicit 200 if the
		// connection still stands, so abort the response and close the connection.
		panic(http.ErrAbortHandler)
	case f.Reset:
		in.record(req, nil)
		reset(w)
	default:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		detail := f.Detail
		if detail == "" {
			detail = "injected failure"
		}
		in.answer(w, req, f.Status, detail)
	}
}

// reset closes the request's connection with a TCP RST, without an answer. A writer that
// cannot be hijacked gets an empty 503 instead.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	tcp := conn
	if inner, ok := conn.(interface{ NetConn() net.Conn }); ok {
		tcp = inner.NetConn()
	}
	if tc, ok := tcp.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = tcp.Close()
}

// accept checks a request as Datadog does and keeps its items.
func (in *Intake) accept(w http.ResponseWriter, r *http.Request, req Request, wire []byte) {
	if !strings.HasSuffix(r.URL.Path, "/api/v2/logs") {
		in.answer(w, req, http.StatusNotFound, "no such path: "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		in.answer(w, req, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	switch key := r.Header.Get("DD-API-KEY"); {
	case key == "":
		in.answer(w, req, http.StatusUnauthorized, "API key missing")
		return
	case key != in.key && in.opts.wrongKey403:
		in.answer(w, req, http.StatusForbidden, "API key invalid")
		return
	case key != in.key:
		in.answer(w, req, http.StatusUnauthorized, "API key invalid")
		return
	}
	body, status, msg := in.decompress(req.Encoding, wire)
	req.Bytes = len(body)
	if status != 0 {
		in.answer(w, req, status, msg)
		return
	}
	items, err := parseItems(body)
	req.Items = len(items)
	switch {
	case err != nil:
		in.answer(w, req, http.StatusBadRequest, err.Error())
		return
	case len(items) > MaxItems:
		in.answer(w, req, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d items, over %d", len(items), MaxItems))
		return
	}
	req.Status = http.StatusAccepted
	in.record(req, items)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, "{}")
}

// decompress returns the JSON of a body with the given Content-Encoding, or the status and
// message that refuse it.
func (in *Intake) decompress(encoding string, wire []byte) ([]byte, int, string) {
	if in.opts.requireGzip && encoding != "gzip" {
		return nil, http.StatusBadRequest, "not gzip-compressed (the test requires Content-Encoding: gzip)"
	}
	var zr io.Reader
	switch encoding {
	case "gzip":
		gz, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			return nil, http.StatusBadRequest, "bad gzip: " + err.Error()
		}
		zr = gz
	case "deflate":
		zl, err := zlib.NewReader(bytes.NewReader(wire))
		if err != nil {
			return nil, http.StatusBadRequest, "bad deflate: " + err.Error()
		}
		zr = zl
	case "", "identity":
		if len(wire) > MaxPayloadBytes {
			return wire, http.StatusRequestEntityTooLarge, "payload over 5 MB"
		}
		return wire, 0, ""
	default:
		return nil, http.StatusBadRequest, "unsupported Content-Encoding " + encoding
	}
	body, err := io.ReadAll(io.LimitReader(zr, MaxPayloadBytes+1))
	switch {
	case err != nil:
		return body, http.StatusBadRequest, "cannot decompress: " + err.Error()
	case len(body) > MaxPayloadBytes:
		return body, http.StatusRequestEntityTooLarge, "payload over 5 MB"
	}
	return body, 0, ""
}

// parseItems reads a JSON array of log items, or a single item.
func parseItems(body []byte) ([]Item, error) {
	var raws []map[string]json.RawMessage
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &one); err != nil {
			return nil, fmt.Errorf("not a log item: %v", err)
		}
		raws = append(raws, one)
	} else if err := json.Unmarshal(trimmed, &raws); err != nil {
		return nil, fmt.Errorf("not a JSON array of log items: %v", err)
	}
	items := make([]Item, 0, len(raws))
	for i, raw := range raws {
		if raw == nil {
			return nil, fmt.Errorf("item %d is not an object", i)
		}
		var it Item
		for name, value := range raw {
			var s string
			if err := json.Unmarshal(value, &s); err != nil {
				s = string(value) // not a string: kept as its JSON
			}
			switch name {
			case "message":
				it.Message = s
			case "ddsource":
				it.Source = s
			case "ddtags":
				it.Tags = s
			case "service":
				it.Service = s
			case "hostname":
				it.Hostname = s
			default:
				if it.Attributes == nil {
					it.Attributes = make(map[string]string)
				}
				it.Attributes[name] = s
			}
		}
		if len(it.Message) > MaxItemBytes {
			it.Message, it.Truncated = it.Message[:MaxItemBytes], true
		}
		items = append(items, it)
	}
	return items, nil
}

// answer writes an error answer shaped as Datadog's, and records it.
func (in *Intake) answer(w http.ResponseWriter, req Request, status int, detail string) {
	req.Status = status
	in.record(req, nil)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{
		"status": fmt.Sprint(status), "title": http.StatusText(status), "detail": detail,
	}}})
}

// record keeps a request and the items it accepted.
func (in *Intake) record(req Request, items []Item) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.requests = append(in.requests, req)
	in.accepted += len(items)
	if !in.opts.discardItems {
		in.items = append(in.items, items...)
	}
}
