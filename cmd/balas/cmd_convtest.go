package main

import (
	"context"
	"fmt"
	"io"
)

func runTest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "balas test: not built yet")
	return 1
}
