package main

import (
	"context"
	"fmt"
	"io"
)

func runSchema(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "balas schema: not built yet")
	return 1
}
