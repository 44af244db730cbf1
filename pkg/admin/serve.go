package admin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DrainTimeout bounds the graceful shutdown of Serve: requests in flight get this long to
// finish once its context ends.
const DrainTimeout = 10 * time.Second

// Serve serves the API on lis until ctx ends, then shuts down gracefully: it stops accepting,
// lets the requests in flight finish within DrainTimeout (with a fresh context, not the ended
// one) and returns nil. With admin.tls.cert/key it serves TLS, asking for client certificates
// when admin.tls.client-ca is set; each handshake uses the files as they are at that moment
// (see New). Serve closes lis; call it once per Server.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.tls != nil {
		lis = tls.NewListener(lis, s.tls.Clone())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("admin: serve: %w", err)
	case <-ctx.Done():
	}
	drainCtx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		_ = srv.Close()
		<-errc
		return fmt.Errorf("admin: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin: serve: %w", err)
	}
	return nil
}
