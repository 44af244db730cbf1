package teleportsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	authpb "github.com/gravitational/teleport/api/client/proto"
	apidefaults "github.com/gravitational/teleport/api/defaults"
	auditlogpb "github.com/gravitational/teleport/api/gen/proto/go/teleport/auditlog/v1"
	apitypes "github.com/gravitational/teleport/api/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// EventSource is the part of a Log the Server serves; *Log satisfies it. The Server calls it
// from concurrent RPCs, so its methods must be safe for concurrent use. A yield error must be
// returned unchanged (the Server passes gRPC statuses through it).
type EventSource interface {
	Search(q SearchQuery) (page []Event, lastKey string, err error)
	ExportChunks(day time.Time) ([]string, error)
	ExportChunk(day time.Time, chunk, cursor string, yield func(ev Event, cursor string) error) error
	SessionEvents(sid string, startIndex int64, yield func(Event) error) error
}

var _ EventSource = (*Log)(nil)

// Defaults of ServerConfig.
const (
	DefaultListenAddr    = "127.0.0.1:0"
	DefaultServerVersion = "17.2.0"
	// DefaultUser is the user the client identity is issued to; its TLS certificate also names
	// a role of that name, as `tctl auth sign --user=teleport-event-handler` would.
	DefaultUser = "teleport-event-handler"
	// DefaultIdentityTTL is tctl auth sign's default TTL.
	DefaultIdentityTTL  = 12 * time.Hour
	DefaultDrainTimeout = 5 * time.Second
)

// ServerConfig configures a Server. Zero fields take the defaults above (ClusterName takes
// DefaultClusterName, as the Log's events do).
type ServerConfig struct {
	// Log is the audit log served. Required.
	Log EventSource
	// CredentialsDir is where the client credentials are written (created 0700 if missing).
	// Required.
	CredentialsDir string
	// ListenAddr is the TCP address to listen on; port 0 picks a free port (see Server.Addr).
	ListenAddr string
	// ClusterName is answered by Ping and names the certificate authority.
	ClusterName string
	// ServerVersion is answered by Ping, e.g. "17.2.0".
	ServerVersion string
	// User is the identity's user: the CN of its TLS certificate, the key id of its SSH
	// certificate.
	User string
	// IdentityTTL is how long the client certificates are valid from their issue.
	IdentityTTL time.Duration
	// Faults are injected from the start; change them with Server.SetFaults.
	Faults Faults
	// DrainTimeout bounds the graceful stop: RPCs still running after it are cancelled.
	DrainTimeout time.Duration
	// Logger receives one debug record per RPC; nil discards.
	Logger *slog.Logger
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.ListenAddr == "" {
		c.ListenAddr = DefaultListenAddr
	}
	if c.ClusterName == "" {
		c.ClusterName = DefaultClusterName
	}
	if c.ServerVersion == "" {
		c.ServerVersion = DefaultServerVersion
	}
	if c.User == "" {
		c.User = DefaultUser
	}
	if c.IdentityTTL == 0 {
		c.IdentityTTL = DefaultIdentityTTL
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports every missing or invalid field; zero optional fields are valid.
func (c ServerConfig) Validate() error {
	var errs []error
	if c.Log == nil {
		errs = append(errs, errors.New("missing Log"))
	}
	if c.CredentialsDir == "" {
		errs = append(errs, errors.New("missing CredentialsDir"))
	}
	if c.IdentityTTL < 0 {
		errs = append(errs, fmt.Errorf("negative IdentityTTL %v", c.IdentityTTL))
	}
	if c.DrainTimeout < 0 {
		errs = append(errs, fmt.Errorf("negative DrainTimeout %v", c.DrainTimeout))
	}
	if err := c.Faults.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("teleportsim: server config: %w", err)
	}
	return nil
}

// Server is a simulated Teleport Auth Service: a gRPC server over mutual TLS serving
// AuditLogService and AuthService's Ping, UpsertLock and GetLocks from teleport/api's generated
// code, so the production client talks to it unchanged. It requires a client certificate
// issued by its own in-memory CA; the client credentials are in CredentialPaths.
//
// Lifecycle: NewServer listens and writes the credentials; Run serves until its context ends,
// then stops gracefully and closes the listener. Call Run once, or Close to release a Server
// that will not run. All methods are safe for concurrent use.
type Server struct {
	cfg    ServerConfig
	ca     *authority
	lis    net.Listener
	grpc   *grpc.Server
	faults *faultInjector
	locks  *lockStore
	paths  CredentialPaths

	credMu sync.Mutex // serializes ReissueIdentity
}

// NewServer creates the CA and the server certificate, writes the client credentials to
// cfg.CredentialsDir and listens on cfg.ListenAddr. The caller must call Run or Close.
func NewServer(cfg ServerConfig) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.CredentialsDir, 0o700); err != nil {
		return nil, fmt.Errorf("teleportsim: credentials dir: %w", err)
	}
	ca, err := newAuthority(cfg.ClusterName)
	if err != nil {
		return nil, fmt.Errorf("teleportsim: %w", err)
	}
	serverCert, err := ca.serverCertificate()
	if err != nil {
		return nil, fmt.Errorf("teleportsim: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		ca:     ca,
		faults: &faultInjector{},
		locks:  newLockStore(),
		paths:  credentialPaths(cfg.CredentialsDir),
	}
	if err := s.faults.set(cfg.Faults); err != nil {
		return nil, err
	}
	if err := s.ReissueIdentity(cfg.IdentityTTL); err != nil {
		return nil, err
	}

	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.pool(),
		MinVersion:   tls.VersionTLS12,
	}
	s.grpc = grpc.NewServer(
		grpc.Creds(credentials.NewTLS(tlsConfig)),
		grpc.ChainUnaryInterceptor(s.logUnary, s.faults.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.logStream, s.faults.streamInterceptor),
		// Teleport's client pings every ServerKeepAliveTTL, with or without a call in flight;
		// accept that as Teleport's Auth Service does instead of answering GOAWAY.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             apidefaults.ServerKeepAliveTTL() / 2,
			PermitWithoutStream: true,
		}),
	)
	auditlogpb.RegisterAuditLogServiceServer(s.grpc, &auditLogService{log: cfg.Log, faults: s.faults})
	authpb.RegisterAuthServiceServer(s.grpc, &authService{
		clusterName:   cfg.ClusterName,
		serverVersion: cfg.ServerVersion,
		locks:         s.locks,
	})

	lis, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("teleportsim: listen: %w", err)
	}
	s.lis = lis
	return s, nil
}

// Addr is the address the Server listens on, e.g. "127.0.0.1:41234".
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Credentials are the paths of the client credential files. The files stay at these paths
// when ReissueIdentity replaces them.
func (s *Server) Credentials() CredentialPaths { return s.paths }

// Run serves until ctx ends, then stops gracefully: it refuses new calls, waits up to
// DrainTimeout for running ones, cancels those still running, and closes the listener. It
// returns nil after a stop (by ctx or Close) and the error that made serving fail otherwise.
func (s *Server) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.grpc.Serve(s.lis) }()
	select {
	case err := <-served: // Close, or the listener failed
		s.grpc.Stop()
		return serveResult(err)
	case <-ctx.Done():
	}
	drained := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(drained)
	}()
	timer := time.NewTimer(s.cfg.DrainTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		s.grpc.Stop()
		<-drained
	}
	return serveResult(<-served)
}

func serveResult(err error) error {
	if err == nil || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return fmt.Errorf("teleportsim: serve: %w", err)
}

// Close stops the Server at once: running calls are cancelled and the listener is closed. A
// running Run returns nil. Close may be called more than once.
func (s *Server) Close() error {
	s.grpc.Stop()
	if err := s.lis.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("teleportsim: close listener: %w", err)
	}
	return nil
}

// SetFaults replaces the injected faults, counters included; it takes effect for the next
// calls. It rejects invalid Faults and keeps the current ones.
func (s *Server) SetFaults(f Faults) error { return s.faults.set(f) }

// Faults returns the current faults, with the Next counters as far as they are spent.
func (s *Server) Faults() Faults { return s.faults.get() }

// Locks returns copies of the locks recorded by UpsertLock, sorted by name.
func (s *Server) Locks() []*apitypes.LockV2 { return s.locks.list() }

// ReissueIdentity issues a new key and client certificates, valid for ttl from now (ttl <= 0
// means the configured IdentityTTL), and replaces the credential files atomically, as tbot
// renews an identity. Clients holding the old certificate keep working until it expires: the
// CA does not change.
func (s *Server) ReissueIdentity(ttl time.Duration) error {
	if ttl <= 0 {
		ttl = s.cfg.IdentityTTL
	}
	s.credMu.Lock()
	defer s.credMu.Unlock()
	id, err := s.ca.issueIdentity(s.cfg.User, []string{s.cfg.User}, ttl)
	if err != nil {
		return fmt.Errorf("teleportsim: %w", err)
	}
	if err := s.ca.writeIdentity(s.cfg.CredentialsDir, id); err != nil {
		return fmt.Errorf("teleportsim: %w", err)
	}
	return nil
}

func (s *Server) logUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	s.logCall(ctx, info.FullMethod, start, err)
	return resp, err
}

func (s *Server) logStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	err := handler(srv, ss)
	s.logCall(ss.Context(), info.FullMethod, start, err)
	return err
}

func (s *Server) logCall(ctx context.Context, method string, start time.Time, err error) {
	if !s.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	s.cfg.Logger.DebugContext(ctx, "rpc",
		"method", method,
		"code", status.Code(err).String(),
		"duration", time.Since(start),
		"user", callerName(ctx),
	)
}
