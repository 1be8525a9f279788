package main

import (
	"context"
	"errors"
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
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
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
