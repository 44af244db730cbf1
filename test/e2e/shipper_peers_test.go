package e2e

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog/datadogtest"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
)

// shipperSink is a sink the shipper tests ship to, with the fake peer that enforces its
// documented behaviour.
type shipperSink struct {
	name string // the shipper.sinks name, given to --sinks
	// newPeer starts a fresh peer for one run. With keyInEnv, a secret the sink can take from
	// the environment (Datadog's DD_API_KEY) goes there; otherwise every secret is in a file.
	newPeer func(t testing.TB, keyInEnv bool) sinkPeer
}

// shipperSinks are the sinks TestShipperDeliversEveryEvent proves.
var shipperSinks = []shipperSink{
	{name: config.SinkFluentd, newPeer: newFluentdPeer},
	{name: config.SinkDatadog, newPeer: newDatadogPeer},
}

// sinkPeer is one run's fake peer of a sink.
type sinkPeer interface {
	// String names the peer in logs and failures: Fluentd, Datadog.
	String() string
	// Accepted is how many events the peer has accepted so far.
	Accepted() int
	// SetLatency delays every answer by d.
	SetLatency(d time.Duration)
	// Secrets are what no shipper output may show.
	Secrets() []string

	// section is the [forward.<sink>] TOML section that points the shipper at the peer, and
	// env the environment variables the shipper needs for it.
	section() (toml string, env []string)
	// records are the events the peer accepted, in arrival order.
	records() []peerRecord
	// wantWhere is the metadata a record of an audit event of type typ in cluster must arrive
	// with, in the form of peerRecord.where.
	wantWhere(typ, cluster string) string
	// requests sums up the requests the peer saw, and fails t for one the sink must not send.
	requests(t testing.TB) string
}

// peerRecord is one event as a peer accepted it.
type peerRecord struct {
	body  []byte // the event JSON the record carries
	where string // the record's metadata: Fluentd's tag; Datadog's item fields but the message
}

// fluentdPeer is a strict fake Fluentd: in_http over mutual TLS.
type fluentdPeer struct{ *fluentdtest.Server }

func newFluentdPeer(t testing.TB, _ bool) sinkPeer { return fluentdPeer{fluentdtest.New(t)} }

func (fluentdPeer) String() string { return "Fluentd" }

// section: the mTLS files, and batches of 500.
func (p fluentdPeer) section() (string, []string) {
	f := p.Config()
	return fmt.Sprintf(`[forward.fluentd]
url = %q
session-url = %q
ca = %q
cert = %q
key = %q
batch = 500
`, f.URL, f.SessionURL, f.CA, f.Cert, f.Key), nil
}

func (p fluentdPeer) records() []peerRecord {
	recs := p.Records()
	out := make([]peerRecord, len(recs))
	for i, r := range recs {
		out[i] = peerRecord{body: r.Body, where: "tag " + r.Tag}
	}
	return out
}

// wantWhere: audit events go to the url's tag.
func (fluentdPeer) wantWhere(string, string) string { return "tag " + fluentdtest.AuditTag }

func (p fluentdPeer) requests(testing.TB) string {
	return fmt.Sprintf("%d requests over %d connections", p.Requests(), p.Connections())
}

// datadogPeer is a strict fake Datadog Logs intake over TLS: it checks DD-API-KEY, requires
// gzip and enforces the size limits. The shipper trusts its certificate through
// SSL_CERT_FILE, as it would a TLS-intercepting proxy's: the sink runs with its default HTTP
// client, as in production.
type datadogPeer struct {
	*datadogtest.Intake
	keyInEnv bool
	keyFile  string // the API key's file, without keyInEnv
	certFile string // the intake's certificate, PEM
}

// The datadog sink's settings besides the defaults (ddsource and service "teleport").
const (
	ddHostname = "e2e-shipper"
	ddTag      = "env:e2e"
	ddBatch    = 500
)

func newDatadogPeer(t testing.TB, keyInEnv bool) sinkPeer {
	t.Helper()
	in := datadogtest.New(t, datadogtest.TLS(), datadogtest.RequireGzip())
	p := &datadogPeer{Intake: in, keyInEnv: keyInEnv, certFile: filepath.Join(t.TempDir(), "intake.pem")}
	if err := os.WriteFile(p.certFile, intakeCertPEM(t, in), 0o600); err != nil {
		t.Fatal(err)
	}
	if !keyInEnv {
		p.keyFile = in.Config(t).APIKeyFile
	}
	return p
}

// intakeCertPEM fetches the certificate the intake serves, checked against the roots of the
// intake's own client.
func intakeCertPEM(t testing.TB, in *datadogtest.Intake) []byte {
	t.Helper()
	u, err := url.Parse(in.URL())
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := in.Client().Transport.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil {
		t.Fatalf("the intake's client has no TLS configuration (%T)", in.Client().Transport)
	}
	conn, err := tls.Dial("tcp", u.Host, tr.TLSClientConfig.Clone())
	if err != nil {
		t.Fatalf("TLS to the intake: %v", err)
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw})
}

func (*datadogPeer) String() string { return "Datadog" }

// section: the intake's https URL, a hostname, a tag and batches of 500; the API key in
// DD_API_KEY or in api-key-file.
func (p *datadogPeer) section() (string, []string) {
	toml := fmt.Sprintf(`[forward.datadog]
url = %q
hostname = %q
tags = [%q]
batch = %d
`, p.URL(), ddHostname, ddTag, ddBatch)
	env := []string{"SSL_CERT_FILE=" + p.certFile}
	if p.keyInEnv {
		env = append(env, config.EnvDatadogAPIKey+"="+p.APIKey())
	} else {
		toml += fmt.Sprintf("api-key-file = %q\n", p.keyFile)
	}
	return toml, env
}

func (p *datadogPeer) records() []peerRecord {
	items := p.Items()
	out := make([]peerRecord, len(items))
	for i, it := range items {
		out[i] = peerRecord{body: []byte(it.Message), where: ddWhere(it.Source, it.Service, it.Hostname, it.Tags, it.Truncated, it.Attributes)}
	}
	return out
}

// wantWhere: the defaults, the configured hostname, and the configured tag with the event's
// type and cluster; nothing truncated, and no other attribute (the sinktest events are too
// old for a date).
func (*datadogPeer) wantWhere(typ, cluster string) string {
	return ddWhere("teleport", "teleport", ddHostname, ddTag+",event:"+typ+",cluster:"+cluster, false, nil)
}

func ddWhere(source, service, hostname, tags string, truncated bool, attrs map[string]string) string {
	w := fmt.Sprintf("ddsource=%s service=%s hostname=%s ddtags=%s", source, service, hostname, tags)
	if truncated {
		w += " truncated"
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		w += fmt.Sprintf(" %s=%s", k, attrs[k])
	}
	return w
}

// requests fails t for an answer other than 202 (a request cut short by a killed shipper
// has none, status 0) and for a request over the configured batch.
func (p *datadogPeer) requests(t testing.TB) string {
	t.Helper()
	statuses := map[int]int{}
	var mostItems, mostBytes, mostWire int
	for _, r := range p.Requests() {
		statuses[r.Status]++
		mostItems, mostBytes, mostWire = max(mostItems, r.Items), max(mostBytes, r.Bytes), max(mostWire, r.WireBytes)
	}
	var bad []string
	for status, n := range statuses {
		if status != 0 && status != http.StatusAccepted {
			bad = append(bad, fmt.Sprintf("%d × %d", n, status))
		}
	}
	if len(bad) > 0 {
		t.Errorf("Datadog answered requests with %s: the sink sent what the intake refuses", strings.Join(bad, ", "))
	}
	if mostItems > ddBatch {
		t.Errorf("a request held %d items, over the batch of %d", mostItems, ddBatch)
	}
	return fmt.Sprintf("%d requests (%d answered 202, %d cut short), at most %d items, %d bytes of JSON, %d gzipped",
		len(p.Requests()), statuses[http.StatusAccepted], statuses[0], mostItems, mostBytes, mostWire)
}
