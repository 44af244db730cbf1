package admin

import (
	"bytes"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/health"
)

// loadOpenAPI parses and validates the embedded document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatalf("the OpenAPI document does not load: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return doc
}

// TestOpenAPIMatchesRouter proves the document is a valid OpenAPI document whose operations
// are exactly the router's routes (method and path, both ways), that it is served as it is,
// and that every operation documents its success and the errors its middleware can give.
func TestOpenAPIMatchesRouter(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	e := newEnv(t)

	var routes []string
	err := chi.Walk(e.srv.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented = append(documented, method+" "+path)
			checkOperation(t, method, path, op)
		}
	}
	sort.Strings(routes)
	sort.Strings(documented)
	if !slices.Equal(routes, documented) {
		t.Fatalf("router and document differ\nrouter:   %q\ndocument: %q", routes, documented)
	}
	if len(routes) != 15 {
		t.Fatalf("%d routes; the adminapi package lists 15", len(routes))
	}

	res := e.get("/v1/openapi.json", "")
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/json" || !bytes.Equal(res.body, openAPIDocument) {
		t.Fatalf("served %d %s", res.status, res.header.Get("Content-Type"))
	}
	for _, name := range []string{"bearerToken", "clientCertificate"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("no security scheme %s", name)
		}
	}
}

// checkOperation checks what the document says an operation answers: a 2xx, and the errors of
// its middleware (401 and 429 on authenticated routes, 403 on write routes).
func checkOperation(t *testing.T, method, path string, op *openapi3.Operation) {
	t.Helper()
	name := method + " " + path
	has := func(code string) bool { return op.Responses.Value(code) != nil }
	if !has("200") && !has("202") && !has("204") {
		t.Errorf("%s documents no success", name)
	}
	open := slices.Contains([]string{"/healthz", "/readyz", "/metrics", "/v1/openapi.json"}, path)
	if open != (op.Security != nil && len(*op.Security) == 0) {
		t.Errorf("%s: security %v; want none exactly on the open routes", name, op.Security)
	}
	if open {
		return
	}
	for _, code := range []string{"401", "429", "500", "503"} {
		if !has(code) {
			t.Errorf("%s does not document %s", name, code)
		}
	}
	if write := method != http.MethodGet; write != has("403") {
		t.Errorf("%s: documents 403 %v; want it on write routes only", name, has("403"))
	}
	if op.RequestBody != nil && (!has("400") || !has("413") || !has("415")) {
		t.Errorf("%s takes a body but does not document 400, 413 and 415", name)
	}
}

// TestOpenAPISchemas proves every schema of the document has exactly the JSON fields of its Go
// type, and requires exactly those the Go type always writes (no omitempty or omitzero).
func TestOpenAPISchemas(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	types := map[string]any{
		"ErrorBody": adminapi.ErrorBody{}, "Error": adminapi.Error{}, "Counts": adminapi.Counts{},
		"Status": adminapi.Status{}, "IngestStatus": adminapi.IngestStatus{}, "StreamStatus": adminapi.StreamStatus{},
		"ConsumerStatus": adminapi.ConsumerStatus{}, "DLQStatus": adminapi.DLQStatus{}, "ReplaySummary": adminapi.ReplaySummary{},
		"Member": adminapi.Member{}, "IngestMember": adminapi.IngestMember{}, "ShipperMember": adminapi.ShipperMember{},
		"ReplayRequest": adminapi.ReplayRequest{}, "Replay": adminapi.Replay{}, "ReplayList": adminapi.ReplayList{},
		"StartTimeRequest": adminapi.StartTimeRequest{}, "StartTimeResult": adminapi.StartTimeResult{},
		"PauseState": adminapi.PauseState{}, "DeadLetter": adminapi.DeadLetter{}, "DLQPage": adminapi.DLQPage{},
		"RedriveRequest": adminapi.RedriveRequest{}, "RedriveResult": adminapi.RedriveResult{},
		"RedrivenEntry": adminapi.RedrivenEntry{}, "FailedEntry": adminapi.FailedEntry{}, "Readiness": health.Report{},
		"Health": struct {
			Status string `json:"status"`
		}{},
	}
	for name := range doc.Components.Schemas {
		if _, ok := types[name]; !ok {
			t.Errorf("schema %s has no Go type in this test", name)
		}
	}
	for name, v := range types {
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Errorf("no schema %s", name)
			continue
		}
		fields, always := jsonFields(reflect.TypeOf(v))
		var props []string
		for p := range ref.Value.Properties {
			props = append(props, p)
		}
		sort.Strings(props)
		required := slices.Sorted(slices.Values(ref.Value.Required))
		if !slices.Equal(props, fields) {
			t.Errorf("schema %s has properties %q; the Go type has %q", name, props, fields)
		}
		if !slices.Equal(required, always) {
			t.Errorf("schema %s requires %q; the Go type always writes %q", name, required, always)
		}
	}
}

// jsonFields returns the JSON names of a struct's fields, sorted, and of those without
// omitempty or omitzero.
func jsonFields(typ reflect.Type) (all, always []string) {
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			always = append(always, name)
		}
	}
	sort.Strings(all)
	sort.Strings(always)
	return all, always
}
