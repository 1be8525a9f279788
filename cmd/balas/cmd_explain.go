package main

import (
	"context"
	"fmt"
	"io"
)

func runExplain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "balas explain: not built yet")
	return 1
}
