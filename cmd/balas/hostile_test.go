package main

import (
	"fmt"
	"net"
	"net/url"
	"runtime"
	"testing"
	"time"
)

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A client that announces a 3 MiB body and sends one byte must not cost the
// server 3 MiB: the signature is checked only after the body is read, so
// anyone on the internet could otherwise hold gigabytes with a few hundred
// idle connections (each held for the 30 s read timeout).
func TestWebhookMemoryFollowsBytesReceivedNotContentLength(t *testing.T) {
	ts, _ := newTestServer(t, "", false)
	u, _ := url.Parse(ts.URL)
	const conns = 48
	before := heapInUse()
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := range conns {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		open = append(open, c)
		fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", maxWebhookBody)
	}
	time.Sleep(500 * time.Millisecond) // every handler is reading its body
	grew := int64(heapInUse()) - int64(before)
	if limit := int64(16 << 20); grew > limit {
		t.Fatalf("%d connections that sent 1 byte each grew the heap by %d MiB (limit %d MiB): the body buffer is sized by the client's Content-Length",
			conns, grew>>20, limit>>20)
	}
}
