package main

import (
	"context"
	"fmt"
	"io"
)

func runSend(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "balas send: not built yet")
	return 1
}
