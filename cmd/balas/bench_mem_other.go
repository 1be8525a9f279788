//go:build !unix

package main

// offHeap returns size bytes; without mmap they are in the Go heap.
func offHeap(size int) []byte { return make([]byte, size) }
