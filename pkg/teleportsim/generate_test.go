package teleportsim

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

// million is the volume of the generation benchmark and memory test: 1M events over 30 days.
var million = Options{Seed: 1, Count: 1_000_000, From: testFrom, To: testFrom.Add(30 * 24 * time.Hour)}

// TestNewLog1MMemory reports the time and heap a million-event log takes. It asserts only a
// loose memory bound (the metadata is 24 bytes an event); the timing is reported, not asserted.
func TestNewLog1MMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a million events")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	l, err := NewLog(million)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("1M events: generated in %v; live heap %.1f MiB; allocated %.1f MiB during generation",
		took, float64(heap)/(1<<20), float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))
	if l.Len() != million.Count {
		t.Fatalf("Len = %d", l.Len())
	}
	if heap > 150<<20 {
		t.Fatalf("a million-event log holds %d MiB", heap>>20)
	}
	// Rendering is on demand: read one page to be sure the log works at that size.
	page, _, err := l.Search(SearchQuery{From: million.From, To: million.To, Limit: 1000})
	if err != nil || len(page) != 1000 {
		t.Fatalf("search: %d events, %v", len(page), err)
	}
	runtime.KeepAlive(l)
}

func BenchmarkNewLog1M(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewLog(million); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender measures rendering an event's JSON on demand, the cost every served event pays.
func BenchmarkRender(b *testing.B) {
	l := newTestLog(b, Options{Count: 10000})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = l.render(l.base[i%len(l.base)])
		i++
	}
}

func TestSortByKey(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name  string
		times func(i int) int64
	}{
		{"random", func(int) int64 { return r.Int64() }},
		{"many ties", func(int) int64 { return r.Int64N(5) }},
		{"negative and extreme", func(i int) int64 { return []int64{math.MinInt64, -1, 0, math.MaxInt64}[i%4] }},
		{"one value", func(int) int64 { return 7 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			metas := make([]meta, 5000)
			for i := range metas {
				metas[i] = meta{t: tt.times(i), gen: uint32(i)}
			}
			want := slices.Clone(metas)
			slices.SortFunc(want, cmpMeta)
			if got := sortByKey(metas); !slices.Equal(got, want) {
				t.Fatal("radix order differs from key order")
			}
		})
	}
}
