package admin

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// requestBody checks that r carries JSON and returns its body, limited to
// adminapi.MaxBodyBytes: reading past the limit fails with an *http.MaxBytesError (413).
func requestBody(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return nil, newAPIError(http.StatusUnsupportedMediaType, adminapi.CodeUnsupportedMediaType,
			"Content-Type %q: want application/json", ct)
	}
	return http.MaxBytesReader(w, r.Body, adminapi.MaxBodyBytes), nil
}

// decodeJSON decodes exactly one JSON object from body into v. Unknown fields, a second value
// after the first, and values of the wrong type are errors that say what is wrong, as a
// *apiError (400); a read past the body limit returns the *http.MaxBytesError.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if e, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return e
		}
		return badRequest("trailing data after the JSON object")
	}
	return nil
}

// jsonError turns an encoding/json error into a message for the client.
func jsonError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		tErr   *time.ParseError
	)
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("empty body: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of the body")
	case errors.As(err, new(*http.MaxBytesError)):
		return err
	case errors.As(err, &syntax):
		return badRequest("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("want a JSON object, not %s", typ.Value)
		}
		return badRequest("field %q: want %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &tErr):
		return badRequest("bad time %q: want RFC 3339, e.g. 2025-01-02T15:04:05Z", tErr.Value)
	case strings.HasPrefix(err.Error(), "Time.UnmarshalJSON"):
		return badRequest("bad time: want an RFC 3339 string, e.g. \"2025-01-02T15:04:05Z\"")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return badRequest("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names a Go kind as its JSON type.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "uint", "uint8", "uint16", "uint32", "uint64":
		return "a non-negative integer"
	case "int", "int8", "int16", "int32", "int64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return kind
}
