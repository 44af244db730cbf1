package adminapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrUnreachable marks a request that got no HTTP answer: the server is down, the address or
// the TLS setup is wrong, or the request timed out. An answer with an error status is an
// *Error instead.
var ErrUnreachable = errors.New("cannot reach the admin API")

// MaxResponseBytes bounds the body of a response the Client reads; a DLQ page of large dead
// letters is the biggest answer.
const MaxResponseBytes = 256 << 20

// Client calls the admin API. Every method takes a context first, sends the bearer token
// when there is one, and returns either the decoded answer, an *Error carrying the API's
// code, message and HTTP status, or an error wrapping ErrUnreachable when no answer came.
// Errors never show the token. A Client is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	hc        *http.Client
	userAgent string
}

// ClientOption adjusts a Client made by NewClient.
type ClientOption func(*Client)

// WithHTTPClient makes the Client send its requests through hc (its transport, timeout and
// redirect policy). A later WithTLSConfig applies to a copy of it.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) { c.hc = hc }
}

// WithTLSConfig sets the TLS configuration of the Client's transport: the CA to trust and,
// for client-certificate authentication, the client's certificate. It applies to the default
// transport (a clone of http.DefaultTransport), or to the transport of a WithHTTPClient given
// before it when that is an *http.Transport.
func WithTLSConfig(cfg *tls.Config) ClientOption {
	return func(c *Client) {
		hc := *c.hc // a copy: the caller's client is left as it is
		tr, ok := hc.Transport.(*http.Transport)
		if !ok || tr == nil {
			tr = http.DefaultTransport.(*http.Transport)
		}
		tr = tr.Clone()
		tr.TLSClientConfig = cfg
		hc.Transport = tr
		c.hc = &hc
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) ClientOption {
	return func(c *Client) { c.userAgent = ua }
}

// NewClient returns a Client of the admin API at baseURL (http or https, with an optional
// path prefix when the API sits behind a proxy), authenticating with the bearer token when
// token is not empty. Without WithHTTPClient it uses a client with a 30 s timeout.
func NewClient(baseURL, token string, opts ...ClientOption) (*Client, error) {
	baseURL = strings.TrimSpace(baseURL)
	if !strings.Contains(baseURL, "://") {
		return nil, fmt.Errorf("admin API URL %q: want http:// or https://, e.g. http://127.0.0.1:8080", baseURL)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, errors.New("admin API URL: not a URL") // url's error may show a password
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return nil, fmt.Errorf("admin API URL %q: want http:// or https://", baseURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("admin API URL %q: no host", baseURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("admin API URL: must not hold credentials (use a token)")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("admin API URL %q: must not have a query or fragment", baseURL)
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, errors.New("admin API token: must be one line")
	}
	c := &Client{
		base:      u,
		token:     strings.TrimSpace(token),
		hc:        &http.Client{Timeout: 30 * time.Second},
		userAgent: "auditpipe-adminapi",
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the API's base URL as given to NewClient.
func (c *Client) BaseURL() string { return c.base.String() }

// Status is GET /v1/status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var out Status
	if err := c.do(ctx, http.MethodGet, "/v1/status", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateReplay is POST /v1/replays: it starts a replay and returns it (202).
func (c *Client) CreateReplay(ctx context.Context, req ReplayRequest) (*Replay, error) {
	var out Replay
	if err := c.do(ctx, http.MethodPost, "/v1/replays", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Replays is GET /v1/replays: every replay, newest first.
func (c *Client) Replays(ctx context.Context) (*ReplayList, error) {
	var out ReplayList
	if err := c.do(ctx, http.MethodGet, "/v1/replays", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Replay is GET /v1/replays/{id}: one replay and its progress.
func (c *Client) Replay(ctx context.Context, id string) (*Replay, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var out Replay
	if err := c.do(ctx, http.MethodGet, "/v1/replays/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CancelReplay is DELETE /v1/replays/{id}: it cancels an active replay and returns it. A
// cancelled replay is returned as it is; cancelling a done one is an *Error with status 409.
func (c *Client) CancelReplay(ctx context.Context, id string) (*Replay, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var out Replay
	if err := c.do(ctx, http.MethodDelete, "/v1/replays/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ResetStartTime is PUT /v1/start-time: a new epoch from req.StartTime. The server refuses a
// request whose Confirm is not true.
func (c *Client) ResetStartTime(ctx context.Context, req StartTimeRequest) (*StartTimeResult, error) {
	var out StartTimeResult
	if err := c.do(ctx, http.MethodPut, "/v1/start-time", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Pause is POST /v1/ingest/pause.
func (c *Client) Pause(ctx context.Context) (*PauseState, error) {
	var out PauseState
	if err := c.do(ctx, http.MethodPost, "/v1/ingest/pause", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Resume is POST /v1/ingest/resume.
func (c *Client) Resume(ctx context.Context) (*PauseState, error) {
	var out PauseState
	if err := c.do(ctx, http.MethodPost, "/v1/ingest/resume", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DLQQuery filters and pages GET /v1/dlq. Zero values are left out of the query.
type DLQQuery struct {
	// Sink keeps the entries of one sink; Reason those whose reason contains it.
	Sink   string
	Reason string
	// After is the Next of the previous page: entries with a larger id.
	After uint64
	// Limit is the page size (the server's default when 0).
	Limit int
}

func (q DLQQuery) values() url.Values {
	v := url.Values{}
	if q.Sink != "" {
		v.Set("sink", q.Sink)
	}
	if q.Reason != "" {
		v.Set("reason", q.Reason)
	}
	if q.After > 0 {
		v.Set("after", strconv.FormatUint(q.After, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// DLQ is GET /v1/dlq: one page of dead letters. Page on with q.After = page.Next while Next
// is not 0.
func (c *Client) DLQ(ctx context.Context, q DLQQuery) (*DLQPage, error) {
	var out DLQPage
	if err := c.do(ctx, http.MethodGet, "/v1/dlq", q.values(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Redrive is POST /v1/dlq/redrive: publish dead letters again.
func (c *Client) Redrive(ctx context.Context, req RedriveRequest) (*RedriveResult, error) {
	var out RedriveResult
	if err := c.do(ctx, http.MethodPost, "/v1/dlq/redrive", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteDeadLetter is DELETE /v1/dlq/{id}.
func (c *Client) DeleteDeadLetter(ctx context.Context, id uint64) error {
	return c.do(ctx, http.MethodDelete, "/v1/dlq/"+strconv.FormatUint(id, 10), nil, nil, nil)
}

// checkID refuses a replay id that would change the path.
func checkID(id string) error {
	if id == "" || id == "." || id == ".." {
		return fmt.Errorf("replay id %q: want the id `replays` lists", id)
	}
	return nil
}

// do sends one request: body (when not nil) as JSON, and decodes a 2xx answer into out (when
// not nil). Any other answer is an *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := c.base.JoinPath(path)
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("admin API %s %s: encode the request: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("admin API %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.unreachable(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return c.unreachable(ctx, fmt.Errorf("reading the answer to %s %s: %w", method, path, err))
	}
	if len(data) > MaxResponseBytes {
		return fmt.Errorf("admin API %s %s: the answer is over %d bytes", method, path, MaxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("admin API %s %s: the answer (%d, %s) is not the expected JSON: %w",
			method, path, resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	return nil
}

// unreachable wraps a transport failure. A cancelled or expired context is said as such.
func (c *Client) unreachable(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text repeats the method and URL
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w at %s: %w", ErrUnreachable, c.base.Redacted(), context.Cause(ctx))
	}
	return fmt.Errorf("%w at %s: %w", ErrUnreachable, c.base.Redacted(), err)
}

// apiError makes the *Error of a non-2xx answer: the API's error body when it has one, else
// one made of the status and the start of the body (a proxy's HTML page, say).
func apiError(resp *http.Response, data []byte) error {
	var eb ErrorBody
	if err := json.Unmarshal(data, &eb); err == nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		e := eb.Error
		e.Status = resp.StatusCode
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return &e
	}
	msg := http.StatusText(resp.StatusCode)
	if text := strings.TrimSpace(string(data)); text != "" {
		const max = 200
		if len(text) > max {
			text = text[:max] + "…"
		}
		msg += ": " + text
	}
	return &Error{Code: codeOf(resp.StatusCode), Message: msg, Status: resp.StatusCode}
}

// codeOf is the error code that goes with an HTTP status, for answers without an error body.
func codeOf(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMediaType
	case http.StatusTooManyRequests:
		return CodeRateLimited
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return CodeUnavailable
	}
	return CodeInternal
}
