// Package fluentd is the sink that forwards events to Fluentd's in_http input over mutual TLS,
// as teleport-event-handler does, in batches.
//
// # Requests
//
// A batch becomes one or more POSTs of a JSON array (Content-Type: application/json), each
// array holding event bodies exactly as Teleport sent them:
//   - audit events go to url, in batch order;
//   - session events go to session-url + "." + session id + ".log", one series of requests
//     per session, each in batch order — the URL teleport-event-handler uses, so Fluentd
//     tags them "<session tag>.<sid>.log";
//   - a request holds at most batch events and [DefaultMaxRequestBytes] (see
//     [WithMaxRequestBytes]); the requests to one URL go one after the other, so that Fluentd
//     receives each tag's events in batch order (after one that must be retried, the rest of
//     that URL's events are Retry too, unsent), and those to different URLs at once, bounded
//     by max-connections.
//
// Every event of a request shares the request's outcome:
//   - 2xx: Delivered;
//   - 5xx, 408, 429, a timeout, a reset or a closed connection: Retry, with Retry-After when
//     Fluentd (or a proxy) sent one; a reset on a reused keep-alive connection is retried once
//     at once, since the server may have closed it while idle;
//   - 413: the request is split in halves, sent one after the other, down to single events;
//     a single event still too large is Rejected;
//   - 401 or 403 (a proxy refusing the client), a redirect, and a TLS handshake that fails
//     because Fluentd's certificate is not trusted or Fluentd refused the client certificate:
//     Retry with Blocked, as only an operator can fix them. Under TLS 1.3 a refused client
//     certificate can look like a reset; a reset on a new connection is therefore checked
//     with a second handshake (at most once per 30 seconds per host);
//   - any other 4xx: Rejected, with the status and an excerpt of the answer.
//
// An event that cannot be sent at all — a body that is not a JSON object, a session event
// without a session id, an unknown kind — is Rejected without a request.
//
// # TLS files
//
// ca, cert and key are re-read when they change on disk (package tlsfiles): every new
// connection handshakes with the newest ones, and a change that cannot be used is logged and
// leaves the previous ones in use (see [New]).
//
// # Metrics
//
// With [WithRegisterer], labelled sink="fluentd":
// auditpipe_sink_http_requests_total{code} (the status, "error" without an answer),
// auditpipe_sink_http_request_duration_seconds and auditpipe_sink_http_sent_bytes_total.
package fluentd

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
)

// Name is the sink's name in configuration, consumers and metrics.
const Name = config.SinkFluentd

// Sink delivers events to Fluentd. It is safe for concurrent use; Deliver calls share one
// pool of keep-alive connections.
type Sink struct {
	client          *http.Client
	transport       *http.Transport
	dialer          *net.Dialer
	tls             *clientTLS
	auditURL        string
	sessionURL      string
	batch           int
	maxRequestBytes int
	timeout         time.Duration
	gzip            bool
	metrics         *sink.HTTPMetrics
	prober          *prober
}

var _ sink.Sink = (*Sink)(nil)

// New builds a Sink from the [forward.fluentd] configuration: url and session-url (https,
// or http to a loopback host), ca, cert and key for mutual TLS, batch (the most events in one
// request) and max-connections (the most connections open to each Fluentd host). Errors wrap
// [ErrConfig] and never show the contents of the key file.
//
// ca, cert and key are read at New and again whenever they change on disk (their directories
// are watched: renames and Kubernetes secret updates are seen) and every minute, until Close.
// Each new connection handshakes with the newest files; after a reload the idle connections
// are closed, so the next requests present the new client certificate. A change that cannot
// be used (a half-written file, a key that does not match the certificate) is logged (see
// [WithLogger]) and the previous files stay in use.
func New(cfg config.Fluentd, opts ...Option) (*Sink, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	auditURL, err := endpoint("url", cfg.URL)
	if err != nil {
		return nil, err
	}
	sessionURL, err := endpoint("session-url", cfg.SessionURL)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Batch < 1:
		return nil, fmt.Errorf("%w: batch must be at least 1, got %d", ErrConfig, cfg.Batch)
	case cfg.MaxConnections < 1:
		return nil, fmt.Errorf("%w: max-connections must be at least 1, got %d", ErrConfig, cfg.MaxConnections)
	case o.timeout <= 0:
		return nil, fmt.Errorf("%w: timeout must be positive, got %v", ErrConfig, o.timeout)
	case o.maxRequestBytes < 1:
		return nil, fmt.Errorf("%w: max request bytes must be positive, got %d", ErrConfig, o.maxRequestBytes)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	s := &Sink{
		dialer:          dialer,
		auditURL:        auditURL,
		sessionURL:      sessionURL,
		batch:           cfg.Batch,
		maxRequestBytes: o.maxRequestBytes,
		timeout:         o.timeout,
		gzip:            o.gzip,
	}
	s.transport = &http.Transport{
		// No proxy, as teleport-event-handler: Fluentd is reached directly.
		DialContext: dialer.DialContext,
		// TLS with the files of the moment of each connection (the transport would keep one
		// TLSClientConfig for good).
		DialTLSContext: s.dialTLS,
		// HTTP/1.1 keep-alive: in_http serves one request per connection at a time, so
		// max-connections is the number of requests in flight to each host.
		ForceAttemptHTTP2:   false,
		MaxConnsPerHost:     cfg.MaxConnections,
		MaxIdleConnsPerHost: cfg.MaxConnections,
		MaxIdleConns:        2 * cfg.MaxConnections, // url and session-url may be two hosts
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	s.client = &http.Client{
		Transport: s.transport,
		// A redirect is answered as it is: the events must go where the operator said,
		// with the client certificate offered to that host only.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.prober = newProber(dialer, func(serverName string) *tls.Config { return s.tls.config(serverName) })
	// Once s is built: it starts watching the files, and a reload may call s.reloaded at once.
	if s.tls, err = newClientTLS(cfg, o.logger.With("sink", Name), s.reloaded); err != nil {
		return nil, err
	}
	if s.metrics, err = newMetrics(o.registerer); err != nil {
		_ = s.tls.close()
		return nil, fmt.Errorf("fluentd sink: metrics: %w", err)
	}
	return s, nil
}

// reloaded runs after a reload has put new TLS files in force: the idle connections close, so
// that the next requests handshake with the new files, and the prober forgets the verdicts it
// reached with the old ones.
func (s *Sink) reloaded() {
	s.transport.CloseIdleConnections()
	s.prober.forget()
}

// endpoint checks the URL of config key name: absolute https (or http to a loopback host),
// with a host, without credentials, a query or a fragment.
func endpoint(key, raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("%w: %s is required", ErrConfig, key)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not a URL", ErrConfig, key)
	}
	switch {
	case u.User != nil:
		return "", fmt.Errorf("%w: %s must not hold credentials: %s", ErrConfig, key, u.Redacted())
	case u.Host == "":
		return "", fmt.Errorf("%w: %s has no host: %s", ErrConfig, key, raw)
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return "", fmt.Errorf("%w: %s must not have a query or fragment: %s", ErrConfig, key, raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return "", fmt.Errorf("%w: %s: scheme must be https (http only to a loopback host): %s", ErrConfig, key, raw)
		}
	default:
		return "", fmt.Errorf("%w: %s: scheme must be https: %s", ErrConfig, key, raw)
	}
	return raw, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name returns "fluentd".
func (s *Sink) Name() string { return Name }

// Deliver sends batch to Fluentd and returns one Result per event, in order (see the package
// documentation for the requests and outcomes). It returns once every request has been
// answered, has failed, or ctx has ended; an event whose request was not answered with
// success is never Delivered.
func (s *Sink) Deliver(ctx context.Context, batch []event.Event) []sink.Result {
	results := make([]sink.Result, len(batch))
	if len(batch) == 0 {
		return results
	}
	if err := ctx.Err(); err != nil {
		return sink.All(len(batch), sink.Result{Outcome: sink.Retry, Reason: "fluentd: not sent: " + err.Error()})
	}
	var wg sync.WaitGroup
	for _, series := range s.plan(batch, results) {
		wg.Go(func() { s.sendSeries(ctx, batch, series, results) })
	}
	wg.Wait()
	return results
}

// sendSeries sends the requests to one URL in order. After a request that must be retried it
// sends no more: their events get the same Retry, so that a retry cannot land them ahead of
// the events they follow.
func (s *Sink) sendSeries(ctx context.Context, batch []event.Event, series []request, results []sink.Result) {
	for n, r := range series {
		s.send(ctx, batch, r, results)
		for _, i := range r.idx {
			if failed := results[i]; failed.Outcome == sink.Retry {
				failed.Reason = "fluentd: not sent after an earlier request failed: " + failed.Reason
				for _, rest := range series[n+1:] {
					for _, j := range rest.idx {
						results[j] = failed
					}
				}
				return
			}
		}
	}
}

// Close closes the idle connections and stops re-reading the TLS files. Deliver must not be
// called after Close; calls in flight finish. Close may be called more than once.
func (s *Sink) Close() {
	_ = s.tls.close() // the watch holds nothing whose release could fail in a way to act on
	s.transport.CloseIdleConnections()
}
