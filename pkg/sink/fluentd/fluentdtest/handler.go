package fluentdtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// ServeHTTP is in_http: it reads a request, injects the pending fault if any, parses the
// records, stores them under the path's tag and answers 200. See the package documentation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	s.wait(r, s.latency())

	if r.Method != http.MethodPost {
		http.Error(w, "405 Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	tag := strings.Join(strings.FieldsFunc(r.URL.Path, func(c rune) bool { return c == '/' }), ".")
	if tag == "" {
		http.Error(w, "400 Bad Request\nmissing tag", http.StatusBadRequest)
		return
	}
	if r.ContentLength > s.bodyLimit {
		http.Error(w, "413 Payload Too Large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.bodyLimit+1))
	if err != nil {
		return // the client went away
	}
	if int64(len(body)) > s.bodyLimit {
		http.Error(w, "413 Payload Too Large", http.StatusRequestEntityTooLarge)
		return
	}
	if kind := s.nextFault(); kind != 0 {
		s.fail(w, r, kind)
		return
	}
	records, err := parse(r.Header, body)
	if err != nil {
		http.Error(w, "400 Bad Request\n"+err.Error(), http.StatusBadRequest)
		return
	}

	s.mu.Lock()
	s.accepted += len(records)
	if !s.discard {
		for _, rec := range records {
			s.records = append(s.records, Record{Tag: tag, Body: rec})
		}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// parse decodes the body by Content-Encoding and reads its records by Content-Type.
func parse(h http.Header, body []byte) ([]json.RawMessage, error) {
	body, err := decode(h.Get("Content-Encoding"), body)
	if err != nil {
		return nil, err
	}
	mediaType, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return nil, errors.New("'json', 'ndjson' or 'msgpack' parameter is required")
	}
	switch mediaType {
	case "application/json":
		return parseJSON(body)
	case "application/x-ndjson":
		return parseNDJSON(body)
	case "application/msgpack":
		return nil, errors.New("msgpack is not supported by fluentdtest")
	}
	return nil, errors.New("'json', 'ndjson' or 'msgpack' parameter is required")
}

func decode(encoding string, body []byte) ([]byte, error) {
	var r io.ReadCloser
	var err error
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return body, nil
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(body))
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", encoding)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", encoding, err)
	}
	defer r.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", encoding, err)
	}
	return out, nil
}

// parseJSON reads one JSON object or a JSON array of objects.
func parseJSON(body []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var records []json.RawMessage
		if err := json.Unmarshal(trimmed, &records); err != nil {
			return nil, errors.New("invalid JSON")
		}
		for i, rec := range records {
			if !isObject(rec) {
				return nil, fmt.Errorf("record %d is not a JSON object", i)
			}
		}
		return records, nil
	}
	if !isObject(trimmed) || !json.Valid(trimmed) {
		return nil, errors.New("not a JSON object or array of objects")
	}
	return []json.RawMessage{bytes.Clone(trimmed)}, nil
}

// parseNDJSON reads one JSON object per line; blank lines are skipped.
func parseNDJSON(body []byte) ([]json.RawMessage, error) {
	var records []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, len(body)+1)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) || !isObject(line) {
			return nil, fmt.Errorf("line %d is not a JSON object", n)
		}
		records = append(records, bytes.Clone(line))
	}
	return records, sc.Err()
}

func isObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 1 && raw[0] == '{'
}
