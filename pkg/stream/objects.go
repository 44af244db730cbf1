package stream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers of a message whose body is in an object store. The message keeps every other
// header of the event (Nats-Msg-Id, Teleport-Event-*), so consumers route and deduplicate it
// like any other; only the body must be fetched with BodyReader.Resolve.
const (
	// HeaderObject is "<bucket>/<key>" of the body.
	HeaderObject = "Auditpipe-Object"
	// HeaderObjectSize is the body's size in bytes.
	HeaderObjectSize = "Auditpipe-Object-Size"
)

// maxChunk is the object store's default chunk size; chunks are also kept within the max
// payload, so a server with a small max_payload still takes them.
const maxChunk = 128 * 1024

// reference is the small JSON body of a message whose body is in an object store. Consumers
// use the headers; the body only makes the message self-explanatory to a human reading the
// stream, and visibly wrong if a consumer forgets to resolve it.
type reference struct {
	Object string `json:"auditpipe_object"`
	Size   int    `json:"size"`
}

// payloadSize is what the server counts against max_payload: encoded headers plus body.
func payloadSize(msg *nats.Msg) int64 {
	return int64(msg.Size() - len(msg.Subject) - len(msg.Reply))
}

// largeBodies puts the bodies of messages that do not fit into one bucket.
type largeBodies struct {
	store  jetstream.ObjectStore
	bucket string
	// refresh is the age after which an identical object is put again, so that it outlives
	// the new message that refers to it; 0 means never.
	refresh time.Duration
}

// fit makes msg fit in maxPayload bytes. When its headers and body exceed it, the body is put
// in the bucket under the message id (before msg is published, so a reference never points at
// nothing) and msg becomes a reference to it. fit reports whether it moved the body. It
// modifies msg.
//
// The put is idempotent: an object with the same key and content is not written again unless
// it is older than refresh. Two replicas putting the same key at once both succeed; a
// reader racing with the second put may fail once and succeed when retried.
func (l *largeBodies) fit(ctx context.Context, msg *nats.Msg, maxPayload int64) (bool, error) {
	if payloadSize(msg) <= maxPayload {
		return false, nil
	}
	key := msg.Header.Get(jetstream.MsgIDHeader)
	if key == "" {
		return false, fmt.Errorf("%w: %s: a message over the max payload needs a %s to name its object",
			ErrTooLarge, msg.Subject, jetstream.MsgIDHeader)
	}
	ref := l.bucket + "/" + key
	stub, err := json.Marshal(reference{Object: ref, Size: len(msg.Data)})
	if err != nil {
		return false, fmt.Errorf("stream: reference body: %w", err)
	}
	header := make(nats.Header, len(msg.Header)+2)
	for k, v := range msg.Header {
		header[k] = v
	}
	header.Set(HeaderObject, ref)
	header.Set(HeaderObjectSize, strconv.Itoa(len(msg.Data)))
	refMsg := &nats.Msg{Subject: msg.Subject, Header: header, Data: stub}
	if n := payloadSize(refMsg); n > maxPayload {
		return false, fmt.Errorf("%w: %s: %d bytes as a reference, max payload %d", ErrTooLarge, msg.Subject, n, maxPayload)
	}
	if err := l.put(ctx, key, msg.Data, maxPayload); err != nil {
		return false, err
	}
	msg.Header, msg.Data = refMsg.Header, refMsg.Data
	return true, nil
}

func (l *largeBodies) put(ctx context.Context, key string, body []byte, maxPayload int64) error {
	h := sha256.New()
	h.Write(body)
	digest := jetstream.GetObjectDigestValue(h)
	info, err := l.store.GetInfo(ctx, key)
	switch {
	case err == nil && info.Digest == digest && info.Size == uint64(len(body)) &&
		(l.refresh == 0 || time.Since(info.ModTime) < l.refresh):
		return nil
	case err != nil && !errors.Is(err, jetstream.ErrObjectNotFound):
		return fmt.Errorf("stream: look up object %s/%s: %w", l.bucket, key, err)
	}
	meta := jetstream.ObjectMeta{
		Name: key,
		Opts: &jetstream.ObjectMetaOptions{ChunkSize: uint32(max(1, min(maxChunk, maxPayload)))},
	}
	if _, err := l.store.Put(ctx, meta, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("stream: put object %s/%s: %w", l.bucket, key, err)
	}
	return nil
}

// remove deletes the object a header refers to when it is in this bucket; a missing object
// is not an error.
func (l *largeBodies) remove(ctx context.Context, h nats.Header) error {
	bucket, key, ok, err := parseReference(h)
	if err != nil || !ok || bucket != l.bucket {
		return err
	}
	if err := l.store.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("stream: delete object %s/%s: %w", bucket, key, err)
	}
	return nil
}

// parseReference returns the bucket and key of a reference header; ok is false when h has
// none.
func parseReference(h nats.Header) (bucket, key string, ok bool, err error) {
	ref := h.Get(HeaderObject)
	if ref == "" {
		return "", "", false, nil
	}
	bucket, key, found := strings.Cut(ref, "/")
	if !found || bucket == "" || key == "" {
		return "", "", false, fmt.Errorf("%w: %s: %q", ErrBadReference, HeaderObject, ref)
	}
	return bucket, key, true, nil
}

// ObjectAPI is the part of jetstream.JetStream that BodyReader uses.
type ObjectAPI interface {
	ObjectStore(ctx context.Context, bucket string) (jetstream.ObjectStore, error)
}

// BodyReader returns the full event body of any message of the events or DLQ stream, whether
// the body is inline or in an object store. It is safe for concurrent use; it keeps the
// buckets it has opened, and holds nothing to close.
type BodyReader struct {
	js ObjectAPI

	mu     sync.Mutex
	stores map[string]jetstream.ObjectStore
}

// NewBodyReader returns a BodyReader that opens buckets through js, which the caller owns.
func NewBodyReader(js ObjectAPI) *BodyReader {
	return &BodyReader{js: js, stores: map[string]jetstream.ObjectStore{}}
}

// Resolve returns the event body of a message with headers h and data data: data itself, or
// for a reference (HeaderObject) the object's content, checked against its digest. A shipper
// calls it as r.Resolve(ctx, msg.Headers(), msg.Data()). An object that is gone returns
// ErrObjectMissing (retrying does not help: dead-letter the message); other errors are
// transient.
func (r *BodyReader) Resolve(ctx context.Context, h nats.Header, data []byte) ([]byte, error) {
	bucket, key, ok, err := parseReference(h)
	if err != nil || !ok {
		return data, err
	}
	store, err := r.store(ctx, bucket)
	if err != nil {
		return nil, err
	}
	body, err := store.GetBytes(ctx, key)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%w: %s/%s", ErrObjectMissing, bucket, key)
	}
	if err != nil {
		return nil, fmt.Errorf("stream: get object %s/%s: %w", bucket, key, err)
	}
	return body, nil
}

func (r *BodyReader) store(ctx context.Context, bucket string) (jetstream.ObjectStore, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.stores[bucket]; ok {
		return s, nil
	}
	s, err := r.js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("%w: bucket %s does not exist", ErrObjectMissing, bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("stream: open bucket %s: %w", bucket, err)
	}
	r.stores[bucket] = s
	return s, nil
}
