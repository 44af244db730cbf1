package admin

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the API's OpenAPI 3.0 document, written by hand beside the code; a test
// proves that its paths and methods are exactly the router's, and that its schemas have the
// fields of the adminapi types.
//
//go:embed openapi.json
var openAPIDocument []byte

// serveOpenAPI answers GET /v1/openapi.json with the document, to anyone.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDocument)
}
