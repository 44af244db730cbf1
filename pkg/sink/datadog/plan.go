package datadog

// The Datadog Logs intake's documented limits. MB is read as 10^6 bytes, the stricter
// reading.
const (
	// MaxItems is the most log items in one request.
	MaxItems = 1000
	// MaxPayloadBytes is the most JSON bytes of one request, before compression.
	MaxPayloadBytes = 5_000_000
	// MaxItemBytes is the largest log item Datadog keeps whole; it truncates larger ones.
	MaxItemBytes = 1_000_000
)

// span is a run of a batch's items, [lo, hi), sent as one request.
type span struct{ lo, hi int }

// payloadBytes is the size of the JSON array of n items totalling sum bytes, as SubmitLog
// encodes it: brackets, n-1 commas and the encoder's trailing newline.
func payloadBytes(sum, n int) int {
	return sum + n + 2
}

// plan cuts items of the given sizes into spans, in order, each of at most maxItems items
// and at most maxBytes of payload. A single item is always a span of its own, whatever its
// size, so every item is sent.
func plan(sizes []int, maxItems, maxBytes int) []span {
	var spans []span
	lo, sum := 0, 0
	for i, size := range sizes {
		n := i - lo
		if n > 0 && (n == maxItems || payloadBytes(sum+size, n+1) > maxBytes) {
			spans = append(spans, span{lo, i})
			lo, sum = i, 0
		}
		sum += size
	}
	if lo < len(sizes) {
		spans = append(spans, span{lo, len(sizes)})
	}
	return spans
}
