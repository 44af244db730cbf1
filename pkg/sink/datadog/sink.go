package datadog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
)

// Sink delivers events to the Datadog Logs intake. It is safe for concurrent use by several
// batches at once; it holds no resource that needs closing beyond idle HTTP connections.
type Sink struct {
	api      *datadogV2.LogsApi
	items    itemMaker
	maxItems int
	keys     *keyring
	metrics  *metrics
}

var _ sink.Sink = (*Sink)(nil)

// New returns a Sink for cfg (the forward.datadog section): the intake of cfg.Site, or
// cfg.URL when set; the API key of cfg.APIKey, read now; cfg.Batch items per request at most
// (0 means Datadog's maximum, 1000). A configuration the sink cannot run with is an error
// wrapping [ErrConfig], or config.ErrNoAPIKey when no key is configured, or the key file's
// error; no error holds the key.
func New(cfg config.Datadog, opts ...Option) (*Sink, error) {
	o := options{logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	base, err := baseURL(cfg)
	if err != nil {
		return nil, err
	}
	maxItems := cfg.Batch
	switch {
	case maxItems == 0:
		maxItems = MaxItems
	case maxItems < 0 || maxItems > MaxItems:
		return nil, fmt.Errorf("%w: forward.datadog.batch must be 1 to %d (Datadog's limit per request), got %d", ErrConfig, MaxItems, cfg.Batch)
	}
	key, err := cfg.APIKey()
	if err != nil {
		return nil, fmt.Errorf("datadog: %w", err)
	}
	m, err := newMetrics(o.registerer)
	if err != nil {
		return nil, err
	}
	hc := o.httpClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	metered := *hc
	metered.Transport = m.Transport(hc.Transport)
	return &Sink{
		api:      newLogsAPI(base, &metered),
		items:    newItemMaker(cfg),
		maxItems: maxItems,
		keys:     newKeyring(cfg, key, o.logger, m.Blocked),
		metrics:  m,
	}, nil
}

// Name is "datadog".
func (s *Sink) Name() string { return config.SinkDatadog }

// Deliver sends batch to the intake as few requests as its limits allow, in order, and
// returns one Result per event (see the package documentation for the outcomes).
func (s *Sink) Deliver(ctx context.Context, batch []event.Event) []sink.Result {
	results := make([]sink.Result, len(batch))
	if len(batch) == 0 {
		return results
	}
	d := delivery{
		s:        s,
		ctx:      ctx,
		results:  results,
		items:    make([]datadogV2.HTTPLogItem, len(batch)),
		sizes:    make([]int, len(batch)),
		oversize: make(map[int]int),
	}
	now := time.Now()
	for i, ev := range batch {
		it, size := s.items.item(ev, now)
		if size > MaxItemBytes {
			d.oversize[i] = size
			it, size = s.items.with(ev, truncatedMessage(ev), MarkerTag, now)
		}
		d.items[i], d.sizes[i] = it, size
	}
	for _, sp := range plan(d.sizes, s.maxItems, MaxPayloadBytes) {
		if halt := d.send(sp); halt != nil {
			d.fill(span{sp.hi, len(batch)}, notSentAfter(*halt))
			break
		}
	}
	return results
}
