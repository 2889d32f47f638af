package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/proxy/redisstore/redistest"
)

// BenchmarkGet measures a lookup served by Redis (no L1) and by the L1,
// with concurrent callers.
func BenchmarkGet(b *testing.B) {
	srv := redistest.Start(b)
	for _, tc := range []struct {
		name string
		l1   int64
	}{{"redis", 0}, {"l1", 64 << 20}} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := Open(srv.URL(0), Options{L1Bytes: tc.l1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			const n = 1000
			for i := range n {
				if err := s.Set(ctx, "GET http://bench/"+strconv.Itoa(i), entry(make([]byte, 1024), time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := s.Get(ctx, "GET http://bench/"+strconv.Itoa(i%n)); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
