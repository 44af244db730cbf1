package datadogtest

// Item is one log item the intake accepted.
type Item struct {
	Message  string
	Source   string // ddsource
	Tags     string // ddtags, as sent: comma-separated
	Service  string
	Hostname string
	// Attributes are the item's other fields by name (e.g. "date"): a string's value, the
	// JSON of any other value.
	Attributes map[string]string
	// Truncated says the message was over 1 MB and the intake cut it, as Datadog does.
	Truncated bool
}

// Request is one request as the intake saw it.
type Request struct {
	Path string // the URL path, /api/v2/logs after any prefix
	// Status is the answer, 0 for a reset or a hung request.
	Status int
	// Encoding is the Content-Encoding header; WireBytes the body as sent and Bytes after
	// decompression.
	Encoding  string
	WireBytes int
	Bytes     int
	// Items is how many log items the body held (0 when it was not read that far).
	Items int
	// Failure is the injected failure the request met, if any.
	Failure *Failure
}
