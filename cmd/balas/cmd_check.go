package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/balas-bot/balas/rules"
)

// runCheck implements `balas check PATH`: load and validate the rules, print
// every problem as file:line:col: message (errors first, then warnings, each
// by position) and a summary line; exit 1 on any error.
func runCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: balas check PATH")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Load and validate the rules in PATH (a rules file or a folder of *.yaml files),")
		fmt.Fprintln(fs.Output(), "print every error and warning as file:line:col: message, and exit 1 if there is any error.")
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "balas check: give one rules file or folder, e.g. balas check examples/rules/toko")
		fs.Usage()
		return 2
	}
	path := fs.Arg(0)
	set, diags, err := rules.Load(path)
	nerr, nwarn := 0, 0
	for _, d := range diags {
		if d.Severity == rules.Error {
			nerr++
		} else {
			nwarn++
		}
		fmt.Fprintln(stdout, d.String())
	}
	nrules, nfiles := 0, 0
	if set != nil {
		nrules, nfiles = len(set.Rules), len(set.Files)
	}
	fmt.Fprintf(stdout, "%s: %s in %s, %s, %s\n", path,
		plural(nrules, "rule"), plural(nfiles, "file"), plural(nerr, "error"), plural(nwarn, "warning"))
	if err != nil {
		return 1
	}
	return 0
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
