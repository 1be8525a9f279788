package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/balas-bot/balas/rules"
)

// runSchema implements `balas schema`: print the JSON Schema of the rules
// language (the same text as rules.schema.json).
func runSchema(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: balas schema > rules.schema.json")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Print the JSON Schema (draft 2020-12) of the rules language, for editor")
		fmt.Fprintln(fs.Output(), "autocompletion. In VS Code (YAML extension) add to a rules file:")
		fmt.Fprintln(fs.Output(), "  # yaml-language-server: $schema=./rules.schema.json")
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "balas schema: takes no arguments; redirect the output to a file")
		return 2
	}
	if _, err := stdout.Write(rules.Schema()); err != nil {
		fmt.Fprintf(stderr, "balas schema: %v\n", err)
		return 1
	}
	return 0
}
