//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package outbound

import (
	"net"
	"syscall"
	"time"
)

// stillOpen peeks, without blocking, at an idle connection: a server that
// closed it left an end of file (or a reset) to read, and an idle HTTP/1.1
// connection has nothing else to say.
func stillOpen(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	// The last call's deadline may have passed; RawConn.Read would refuse.
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		return false
	}
	open := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
		return true // never wait for the socket to become readable
	})
	return err == nil && open
}
