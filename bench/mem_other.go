//go:build !unix

package bench

import "time"

// offHeap returns size bytes; without mmap they are in the Go heap.
func offHeap(size int) []byte { return make([]byte, size) }

// cpuTime is 0 where getrusage is not available: the bench prints no CPU
// figure there.
func cpuTime() time.Duration { return 0 }
