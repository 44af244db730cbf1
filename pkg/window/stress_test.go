package window_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

type commit struct {
	token  int64
	cursor string
}

// Replicas' workers claim, commit, complete, release and crash (walk away from a lease) at
// random while the clock runs fast enough for leases to expire under them: every window is
// completed exactly once, and no stale holder ever commits.
func TestStressEveryWindowCompletedExactlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *window.Config) { c.LeaseTTL = 5 * time.Second })
	const (
		windows  = 300
		replicas = 4
		workers  = 8
	)
	stores := make([]*window.Store, replicas)
	for i := range stores {
		stores[i] = e.replica()
	}
	searchWindows(t, stores[0], t0.Add(-(windows-1)*time.Minute), time.Minute)

	var (
		mu        sync.Mutex
		completed = map[string]int{}
		commits   = map[string][]commit{} // window → cursors committed, in order
		finished  atomic.Bool
		wg        sync.WaitGroup
		stale     atomic.Int64
	)
	for r, s := range stores {
		for w := range workers {
			owner := fmt.Sprintf("r%d/w%d", r, w)
			rng := rand.New(rand.NewPCG(uint64(r), uint64(w)))
			wg.Go(func() {
				for !finished.Load() {
					// Time runs with the work, not with the wall clock, so that a loaded
					// machine sees as many expiries as an idle one: a lease outlives about
					// 50 claims in all.
					e.clock.Advance(e.cfg.LeaseTTL / 50)
					l, err := s.Claim(t.Context(), owner)
					if errors.Is(err, window.ErrNoWork) {
						time.Sleep(time.Millisecond)
						continue
					}
					if err != nil {
						t.Errorf("Claim: %v", err)
						return
					}
					id := l.Window().ID
					// The cursor is the last one committed under an older token: a commit under
					// an older token after this claim would have been refused.
					mu.Lock()
					want := ""
					for _, c := range commits[id] {
						if c.token < l.Token() {
							want = c.cursor
						}
					}
					if got := l.Window().Cursor; got != want {
						t.Errorf("%s claimed %s at cursor %q; last commit before it was %q", owner, id, got, want)
					}
					mu.Unlock()
					for page := range rng.IntN(3) {
						cursor := fmt.Sprintf("%s#%d", owner, page)
						// Hold the lock across the commit so that a claim after it sees it recorded.
						mu.Lock()
						err := l.Commit(t.Context(), cursor)
						if err == nil {
							commits[id] = append(commits[id], commit{l.Token(), cursor})
						}
						mu.Unlock()
						if err != nil {
							break
						}
					}
					switch p := rng.IntN(10); {
					case p < 1: // crash: the lease is left to expire
					case p < 2:
						_ = l.Release(t.Context())
					default:
						err := l.Complete(t.Context())
						if errors.Is(err, window.ErrLeaseLost) {
							stale.Add(1)
							continue
						}
						if err != nil {
							t.Errorf("Complete: %v", err)
							return
						}
						mu.Lock()
						completed[id]++
						mu.Unlock()
					}
				}
			})
		}
	}

	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := stores[0].EpochCounts(t.Context(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if c.Done == windows {
			break
		}
		if time.Now().After(deadline) || t.Failed() {
			finished.Store(true)
			wg.Wait()
			t.Fatalf("not all windows done: %+v", c)
		}
		time.Sleep(10 * time.Millisecond)
	}
	finished.Store(true)
	wg.Wait()

	if len(completed) != windows {
		t.Fatalf("%d windows completed; want %d", len(completed), windows)
	}
	for id, n := range completed {
		if n != 1 {
			t.Errorf("window %s completed %d times", id, n)
		}
	}
	wantCounts(t, "end", epochCounts(stores[0], 1), window.Counts{Done: windows})
	t.Logf("%d completions refused to holders whose lease had expired and been reclaimed", stale.Load())
}
