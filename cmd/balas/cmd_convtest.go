package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/engine/convtest"
	"github.com/balas-bot/balas/rules"
)

func runTest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("balas test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runPattern := fs.String("run", "", "run only the tests whose name matches this regular expression")
	verbose := fs.Bool("v", false, "also print the rules' warnings")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: balas test [--run REGEXP] PATH

Runs the conversation tests next to the rules: for a folder every
*_test.yaml / *_test.yml in it, for a file NAME.yaml the files NAME_test.yaml
(and NAME_*_test.yaml, except NAME_X_test.yaml when NAME_X.yaml is there:
those test it) beside it. Each test plays customer messages against
the rules and checks the answers. The last line is "N passed, M failed";
the exit code is 1 if a test failed or the rules or a test file have errors.

Flags:`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, reorderArgs(fs, args), stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "balas test: give one rules file or folder, e.g. balas test examples/rules/toko")
		return 2
	}
	var filter *regexp.Regexp
	if *runPattern != "" {
		re, err := regexp.Compile(*runPattern)
		if err != nil {
			fmt.Fprintf(stderr, "balas test: --run: %v\n", err)
			return 2
		}
		filter = re
	}
	path := fs.Arg(0)
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() && convtest.IsTestFile(filepath.Base(path)) {
		fmt.Fprintf(stderr, "balas test: %s is a conversation test file; give the rules it tests: balas test %s\n", path, rulesOf(path))
		return 2
	}

	files, err := convtest.Files(path)
	if err != nil {
		fmt.Fprintf(stderr, "balas test: %s: %v; give the path of a rules file or folder\n", path, unwrapPathError(err))
		return 1
	}
	set, diags, loadErr := rules.Load(path)
	for _, d := range diags {
		if loadErr != nil || *verbose || d.Severity == rules.Error {
			fmt.Fprintln(stderr, d.String())
		}
	}
	var bot *engine.Bot
	if loadErr == nil {
		bot = engine.New(set)
	} else {
		fmt.Fprintf(stderr, "balas test: the rules in %s have errors (above); fix them and run again\n", path)
	}

	passed, failed := 0, 0
	covered := map[string]bool{}
	complete := filter == nil && bot != nil // every step of every test of every file ran
	for _, file := range files {
		suite, err := convtest.ParseFile(file)
		if err != nil {
			complete = false
			fmt.Fprintf(stdout, "--- FAIL: %s\n", file)
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(stdout, "    %s\n", line)
			}
			failed++
			continue
		}
		if len(suite.Tests) == 0 {
			fmt.Fprintf(stderr, "%s: note: no tests in this file (write them as a list under `tests:`)\n", file)
		}
		for _, t := range suite.Tests {
			if filter != nil && !filter.MatchString(t.Name) {
				continue
			}
			if ctx.Err() != nil {
				break
			}
			if bot == nil {
				fmt.Fprintf(stdout, "--- FAIL: %s\n    %s:%d: the rules do not load\n", t.Name, t.Pos.File, t.Pos.Line)
				failed++
				continue
			}
			res := convtest.RunTest(bot, t)
			for _, id := range res.Rules {
				covered[id] = true
			}
			if res.Passed() {
				fmt.Fprintf(stdout, "--- PASS: %s\n", t.Name)
				passed++
				continue
			}
			fmt.Fprintf(stdout, "--- FAIL: %s\n    %s\n", t.Name, res.Failure)
			failed++
			complete = false // the steps after the failed one did not run
		}
	}
	interrupted := ctx.Err() != nil
	if complete && !interrupted && len(files) > 0 {
		for _, r := range set.Rules {
			if !covered[r.ID] {
				fmt.Fprintf(stderr, "%s: note: no test step is answered by rule %s\n", r.Pos, r.ID)
			}
		}
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "balas test: no conversation tests next to %s; write one named *_test.yaml beside the rules\n", path)
	}
	if filter != nil && passed+failed == 0 && len(files) > 0 && !interrupted {
		fmt.Fprintf(stderr, "balas test: no test name matches --run %q\n", *runPattern)
	}
	if interrupted {
		fmt.Fprintln(stderr, "balas test: interrupted before every test ran")
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 || loadErr != nil || interrupted {
		return 1
	}
	return 0
}

// rulesOf is the rules that the test file path tests: NAME.yaml beside
// NAME_test.yaml, else the folder.
func rulesOf(path string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(path, ".yaml"), ".yml")
	base = strings.TrimSuffix(base, "_test")
	for _, ext := range []string{".yaml", ".yml"} {
		if fi, err := os.Stat(base + ext); err == nil && !fi.IsDir() {
			return base + ext
		}
	}
	return filepath.Dir(path)
}

// reorderArgs moves flags after the positional arguments in front of them,
// so that `balas explain PATH MESSAGE --state x` works like Go's flag package
// expects. A lone "--" ends the flags.
func reorderArgs(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	if len(pos) > 0 {
		flags = append(flags, "--")
	}
	return append(flags, pos...)
}

func unwrapPathError(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}
