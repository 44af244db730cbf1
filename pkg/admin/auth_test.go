package admin

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/config"
)

// TestBearerAuth proves the bearer token rules on every /v1 route: no or bad credentials are
// 401 with a Bearer challenge, a read token reads and gets 403 on every write route, an admin
// token may do everything, and the unauthenticated routes need nothing.
func TestBearerAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reads := []string{"/v1/status", "/v1/replays", "/v1/replays/nope", "/v1/dlq"}
	writes := []request{
		{method: http.MethodPost, path: "/v1/replays", body: adminapi.ReplayRequest{From: t0.Add(-2 * 24 * 3600e9), To: t0}},
		{method: http.MethodDelete, path: "/v1/replays/nope"},
		{method: http.MethodPut, path: "/v1/start-time", body: adminapi.StartTimeRequest{StartTime: t0, Confirm: true}},
		{method: http.MethodPost, path: "/v1/ingest/pause"},
		{method: http.MethodPost, path: "/v1/ingest/resume"},
		{method: http.MethodPost, path: "/v1/dlq/redrive", body: adminapi.RedriveRequest{IDs: []uint64{1}}},
		{method: http.MethodDelete, path: "/v1/dlq/1"},
	}
	var all []request
	for _, p := range reads {
		all = append(all, request{method: http.MethodGet, path: p})
	}
	all = append(all, writes...)

	for _, req := range all {
		name := req.method + " " + req.path
		req.token = ""
		res := e.do(req)
		res.wantError(t, http.StatusUnauthorized, adminapi.CodeUnauthorized)
		if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="auditpipe"` {
			t.Errorf("%s without credentials: WWW-Authenticate %q", name, got)
		}
		req.token = "not-a-token"
		res = e.do(req)
		res.wantError(t, http.StatusUnauthorized, adminapi.CodeUnauthorized)
		if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="auditpipe", error="invalid_token"` {
			t.Errorf("%s with a bad token: WWW-Authenticate %q", name, got)
		}
	}
	for _, header := range []string{"Basic YWRtaW46eA==", "Bearer", "Bearer  ", "Token " + adminToken} {
		res := e.do(request{method: http.MethodGet, path: "/v1/status", header: http.Header{"Authorization": {header}}})
		res.wantError(t, http.StatusUnauthorized, adminapi.CodeUnauthorized)
	}
	// The scheme is case-insensitive.
	if res := e.do(request{method: http.MethodGet, path: "/v1/status",
		header: http.Header{"Authorization": {"bearer " + readToken}}}); res.status != http.StatusOK {
		t.Errorf("lower-case bearer: %d %s", res.status, res.body)
	}
	for _, p := range reads {
		for _, token := range []string{readToken, adminToken} {
			if res := e.get(p, token); res.status == http.StatusUnauthorized || res.status == http.StatusForbidden {
				t.Errorf("GET %s: %d %s", p, res.status, res.body)
			}
		}
	}
	for _, req := range writes {
		req.token = readToken
		msg := e.do(req).wantError(t, http.StatusForbidden, adminapi.CodeForbidden)
		if !strings.Contains(msg.Message, "admin scope") {
			t.Errorf("%s %s: 403 message %q", req.method, req.path, msg.Message)
		}
		req.token = adminToken
		if res := e.do(req); res.status == http.StatusUnauthorized || res.status == http.StatusForbidden {
			t.Errorf("%s %s with the admin token: %d %s", req.method, req.path, res.status, res.body)
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/v1/openapi.json"} {
		if res := e.get(p, ""); res.status != http.StatusOK {
			t.Errorf("GET %s without credentials: %d", p, res.status)
		}
	}

	// Who did it: the token's digest, never the token.
	sum := tokenWho(sha(adminToken))
	recs := e.auditRecords("POST /v1/ingest/pause")
	if len(recs) != 2 || recs[0]["who"] != tokenWho(sha(readToken)) || recs[1]["who"] != sum {
		t.Fatalf("pause audit records %v; want the read token denied, then the admin token", recs)
	}
	if logs := e.logs.String(); strings.Contains(logs, adminToken) || strings.Contains(logs, readToken) {
		t.Fatal("a token is in the log")
	}
}

// TestClientCertAuth proves client certificates over TLS: a verified certificate is admin,
// or read when its OU says so; no certificate and no token is 401 (but /healthz answers); a
// bad bearer token is 401 even with a good certificate; a certificate of another CA fails
// the handshake.
func TestClientCertAuth(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	e := newEnv(t, withConfig(func(c *config.Config) {
		c.Admin.TLS = config.ServerTLS{Cert: p.srvCert, Key: p.srvKey, ClientCA: p.caFile}
	}))
	base := serve(t, e.srv, "https")
	adminCert, adminKey := p.issue("ops", pkix.Name{CommonName: "ops-bot", OrganizationalUnit: []string{"ops"}}, x509.ExtKeyUsageClientAuth)
	readCert, readKey := p.issue("viewer", pkix.Name{CommonName: "dash", OrganizationalUnit: []string{"team", "ReadOnly"}}, x509.ExtKeyUsageClientAuth)
	admin, reader, anon := p.client(adminCert, adminKey), p.client(readCert, readKey), p.client("", "")

	pause := request{method: http.MethodPost, path: "/v1/ingest/pause"}
	status := request{method: http.MethodGet, path: "/v1/status"}
	if res := send(t, admin, base, pause); res.status != http.StatusOK {
		t.Fatalf("admin cert pause: %d %s", res.status, res.body)
	}
	if res := send(t, reader, base, status); res.status != http.StatusOK {
		t.Fatalf("read cert status: %d %s", res.status, res.body)
	}
	send(t, reader, base, pause).wantError(t, http.StatusForbidden, adminapi.CodeForbidden)
	send(t, anon, base, status).wantError(t, http.StatusUnauthorized, adminapi.CodeUnauthorized)
	if res := send(t, anon, base, request{method: http.MethodGet, path: "/healthz"}); res.status != http.StatusOK {
		t.Fatalf("healthz without a cert: %d", res.status)
	}
	// A token still works without a certificate; a bad one fails even with a certificate.
	if res := send(t, anon, base, request{method: http.MethodGet, path: "/v1/status", token: readToken}); res.status != http.StatusOK {
		t.Fatalf("token over TLS: %d %s", res.status, res.body)
	}
	send(t, admin, base, request{method: http.MethodPost, path: "/v1/ingest/resume", token: "bad"}).
		wantError(t, http.StatusUnauthorized, adminapi.CodeUnauthorized)

	recs := e.auditRecords("POST /v1/ingest/pause")
	if len(recs) != 2 || recs[0]["who"] != "cert:ops-bot" || recs[1]["who"] != "cert:dash" || recs[1]["status"] != float64(http.StatusForbidden) {
		t.Fatalf("audit records %v; want cert:ops-bot then cert:dash denied", recs)
	}

	// A certificate of another CA is refused at the handshake.
	other := newPKI(t)
	oc, ok := other.issue("stranger", pkix.Name{CommonName: "stranger"}, x509.ExtKeyUsageClientAuth)
	stranger := other.client(oc, ok)
	stranger.Transport.(*http.Transport).TLSClientConfig.RootCAs = p.pool
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := stranger.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("a certificate of another CA got %d; want a failed handshake", res.StatusCode)
	}
}

// TestCertScope proves the OU rule: any OU value containing "read", in any case, is read.
func TestCertScope(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		ous  []string
		want adminapi.Scope
	}{
		{nil, adminapi.ScopeAdmin},
		{[]string{"ops"}, adminapi.ScopeAdmin},
		{[]string{"read"}, adminapi.ScopeRead},
		{[]string{"ops", "Readers"}, adminapi.ScopeRead},
		{[]string{"READ-ONLY"}, adminapi.ScopeRead},
	} {
		a := authenticator{clientCerts: true}
		r, _ := http.NewRequest(http.MethodGet, "/v1/status", nil)
		r.TLS = tlsState(&x509.Certificate{Subject: pkix.Name{CommonName: "c", OrganizationalUnit: tt.ous}})
		who, scope, err := a.identify(r)
		if err != nil || who != "cert:c" || scope != tt.want {
			t.Errorf("OU %v: %s, %s, %v; want cert:c, %s", tt.ous, who, scope, err, tt.want)
		}
	}
}

// TestInsecureNoAuth proves that with admin.insecure-no-auth and nothing else configured,
// every route is open and the actions are logged as anonymous.
func TestInsecureNoAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *config.Config) {
		c.Admin.TokensFile = ""
		c.Admin.InsecureNoAuth = true
	}))
	if res := e.do(request{method: http.MethodPost, path: "/v1/ingest/pause"}); res.status != http.StatusOK {
		t.Fatalf("pause without credentials: %d %s", res.status, res.body)
	}
	if recs := e.auditRecords("POST /v1/ingest/pause"); len(recs) != 1 || recs[0]["who"] != "anonymous" {
		t.Fatalf("audit %v; want anonymous", recs)
	}
	if len(e.logs.records(t, "admin API serving WITHOUT authentication (admin.insecure-no-auth): for development only")) != 1 {
		t.Fatal("no warning about the open API")
	}
	// Credentials are not checked: a client configured with a token works too.
	if res := e.get("/v1/status", "any"); res.status != http.StatusOK {
		t.Fatalf("status with a token: %d %s", res.status, res.body)
	}
}

func sha(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// tlsState is the TLS state of a connection whose client presented cert, verified.
func tlsState(cert *x509.Certificate) *tls.ConnectionState {
	return &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}
}
