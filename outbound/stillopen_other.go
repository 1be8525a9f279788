//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package outbound

import "net"

// stillOpen cannot peek on this platform: an idle connection is trusted
// until HTTPTransport.IdleTimeout.
func stillOpen(net.Conn) bool { return true }
