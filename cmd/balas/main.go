// Command balas answers WhatsApp messages by rules written in YAML.
//
// See the README for the commands, the configuration and the rules language.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand. It returns the process exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "run the webhook server and the pipeline", runServe},
		{"check", "load and validate rules; print every problem as file:line:col: message", runCheck},
		{"test", "run the conversation tests (*_test.yaml) next to the rules", runTest},
		{"chat", "talk to the rules in the terminal as a customer would", runChat},
		{"explain", "show which rule would answer a message and why earlier rules did not", runExplain},
		{"send", "post a correctly signed webhook to a running server, like Meta would", runSend},
		{"bench", "measure the webhook intake and the pipeline on this machine", runBench},
		{"schema", "print the JSON Schema of the rules language", runSchema},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "balas: unknown command %q; run 'balas --help' for the list of commands\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "balas answers WhatsApp messages by rules written in YAML.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: balas COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'balas COMMAND --help' for the flags of a command.")
}

func runVersion(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: balas version")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Prints the version of this balas.")
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "balas version: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fmt.Fprintf(stdout, "balas %s\n", version)
	return 0
}

// parseFlags parses a command's flags. With --help it prints the usage on
// stdout (exit code 0); a bad flag is reported on stderr with the usage
// (exit code 2). ok is false when the command must stop with code.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	var msg bytes.Buffer
	fs.SetOutput(&msg)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0, false
	}
	fs.SetOutput(stderr)
	if err != nil {
		stderr.Write(msg.Bytes())
		return 2, false
	}
	return 0, true
}
