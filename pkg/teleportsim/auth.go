package teleportsim

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	authpb "github.com/gravitational/teleport/api/client/proto"
	apitypes "github.com/gravitational/teleport/api/types"
	apiutils "github.com/gravitational/teleport/api/utils"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// authService serves the part of teleport's AuthService an exporter uses: Ping, UpsertLock
// and GetLocks. Every other method answers Unimplemented. It is safe for concurrent use.
type authService struct {
	authpb.UnimplementedAuthServiceServer
	clusterName   string
	serverVersion string
	locks         *lockStore
}

// Ping answers the cluster name and server version, and the caller's address as the Auth
// Service sees it.
func (s *authService) Ping(ctx context.Context, _ *authpb.PingRequest) (*authpb.PingResponse, error) {
	resp := &authpb.PingResponse{
		ClusterName:    s.clusterName,
		ServerVersion:  s.serverVersion,
		ServerFeatures: &authpb.Features{},
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		resp.RemoteAddr = p.Addr.String()
	}
	return resp, nil
}

// UpsertLock records a lock, replacing one of the same name. Like Teleport it rejects a lock
// without a target and stamps CreatedAt and CreatedBy (the caller's certificate user) when
// they are unset.
func (s *authService) UpsertLock(ctx context.Context, lock *apitypes.LockV2) (*emptypb.Empty, error) {
	lock = apiutils.CloneProtoMsg(lock)
	if err := lock.CheckAndSetDefaults(); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "teleportsim: lock: %v", err)
	}
	if lock.CreatedAt().IsZero() {
		lock.SetCreatedAt(time.Now().UTC())
	}
	if lock.CreatedBy() == "" {
		lock.SetCreatedBy(callerName(ctx))
	}
	s.locks.upsert(lock)
	return &emptypb.Empty{}, nil
}

// GetLocks answers the recorded locks, by name, filtered as Teleport filters them: with
// InForceOnly only those in force now, with Targets only those some target matches.
func (s *authService) GetLocks(_ context.Context, req *authpb.GetLocksRequest) (*authpb.GetLocksResponse, error) {
	now := time.Now()
	var out []*apitypes.LockV2
	for _, lock := range s.locks.list() {
		if req.InForceOnly && !lock.IsInForce(now) {
			continue
		}
		if len(req.Targets) > 0 && !slices.ContainsFunc(req.Targets, func(t *apitypes.LockTarget) bool {
			return t != nil && t.Match(lock)
		}) {
			continue
		}
		out = append(out, lock)
	}
	return &authpb.GetLocksResponse{Locks: out}, nil
}

// callerName is the user of the caller's verified client certificate.
func callerName(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return ""
	}
	return info.State.VerifiedChains[0][0].Subject.CommonName
}

// lockStore is the recorded locks by name; safe for concurrent use. It stores and hands out
// copies, so callers may keep or change what they pass in and get back.
type lockStore struct {
	mu    sync.Mutex
	locks map[string]*apitypes.LockV2
}

func newLockStore() *lockStore {
	return &lockStore{locks: make(map[string]*apitypes.LockV2)}
}

func (s *lockStore) upsert(lock *apitypes.LockV2) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locks[lock.GetName()] = apiutils.CloneProtoMsg(lock)
}

// list returns copies of the locks, sorted by name.
func (s *lockStore) list() []*apitypes.LockV2 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*apitypes.LockV2, 0, len(s.locks))
	for _, lock := range s.locks {
		out = append(out, apiutils.CloneProtoMsg(lock))
	}
	slices.SortFunc(out, func(a, b *apitypes.LockV2) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return out
}
