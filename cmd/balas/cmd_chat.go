package main

import (
	"context"
	"fmt"
	"io"
)

func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "balas chat: not built yet")
	return 1
}
