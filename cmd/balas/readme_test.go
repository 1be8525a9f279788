package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/balas-bot/balas/rules"
)

// readmeSection returns the README from the heading head to the next
// heading of the same or a higher level.
func readmeSection(t *testing.T, head string) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "\n"+head+"\n")
	if !ok {
		t.Fatalf("README lacks the heading %q", head)
	}
	level := head[:strings.IndexByte(head, ' ')+1]
	for i := 0; i < len(rest); {
		j := strings.Index(rest[i:], "\n#")
		if j < 0 {
			break
		}
		i += j + 1
		if h := rest[i:]; strings.HasPrefix(h, level) || (strings.HasPrefix(h, "#") && len(h) > 1 && !strings.HasPrefix(h, strings.TrimSuffix(level, " ")+"#")) {
			return rest[:i]
		}
	}
	return rest
}

// The README's configuration table has every flag of balas serve, with
// its environment variable and default, and no other.
func TestReadmeServeFlags(t *testing.T) {
	var usage bytes.Buffer
	if _, err := parseServeConfig([]string{"--help"}, func(string) string { return "" }, &usage); err != flag.ErrHelp {
		t.Fatalf("--help: %v", err)
	}
	type flagDoc struct{ env, def string }
	code := map[string]flagDoc{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+).*\n\s+(.*)$`).FindAllStringSubmatch(usage.String(), -1) {
		env := regexp.MustCompile(`\((BALAS_[A-Z_]+(?:=1)?)\)`).FindStringSubmatch(m[2])
		def := regexp.MustCompile(`\(default "(.*)"\)$`).FindStringSubmatch(m[2])
		d := flagDoc{def: "off"} // a bool flag, off unless given
		if env != nil {
			d.env = env[1]
		}
		if def != nil {
			d.def = def[1]
		}
		code[m[1]] = d
	}
	if len(code) < 10 {
		t.Fatalf("read %d flags from --help:\n%s", len(code), usage.String())
	}
	doc := map[string]flagDoc{}
	table := readmeSection(t, "### Configuration of `balas serve`")
	for _, m := range regexp.MustCompile("(?m)^\\| `--([a-z-]+)` \\| `([^`]+)` \\| `?([^`|]+?)`? \\|").FindAllStringSubmatch(table, -1) {
		doc[m[1]] = flagDoc{env: m[2], def: m[3]}
	}
	for name, c := range code {
		d, ok := doc[name]
		switch {
		case !ok:
			t.Errorf("--%s (%s, default %q) is not in the README's configuration table", name, c.env, c.def)
		case d != c:
			t.Errorf("--%s: the README says %s, default %q; balas serve --help says %s, default %q", name, d.env, d.def, c.env, c.def)
		}
	}
	for name := range doc {
		if _, ok := code[name]; !ok {
			t.Errorf("the README's configuration table has --%s, which balas serve does not take", name)
		}
	}
	for _, secret := range []string{"BALAS_APP_SECRET", "BALAS_VERIFY_TOKEN", "BALAS_ACCESS_TOKEN"} {
		if !strings.Contains(table, "| | `"+secret+"` |") {
			t.Errorf("the README's configuration table lacks the secret %s", secret)
		}
	}
}

// The README's /metrics row names every balas_ metric a running balas
// exports, with its labels, and no other.
func TestReadmeMetrics(t *testing.T) {
	a, _ := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	// Some series exist once their first event happened: a prune pass, a
	// webhook field, a load by the watcher.
	a.prune(context.Background())
	a.metrics.Event("account_update")
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { a.watcher.Run(ctx, func(*rules.Set) {}); close(watched) }()
	defer func() { cancel(); <-watched }()
	var families []*dto.MetricFamily
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var err error
		if families, err = a.metrics.reg.Gather(); err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(families, func(f *dto.MetricFamily) bool { return f.GetName() == "balas_rules_reloads_total" }) ||
			time.Now().After(deadline) {
			break
		}
	}
	var code []string
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "balas_") {
			continue
		}
		var labels []string
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		name := f.GetName()
		if len(labels) > 0 {
			sort.Strings(labels)
			name += "{" + strings.Join(labels, ",") + "}"
		}
		code = append(code, name)
	}
	var row string
	for _, line := range strings.Split(readmeSection(t, "### HTTP endpoints"), "\n") {
		if strings.HasPrefix(line, "| `GET /metrics` |") {
			row = line
		}
	}
	var doc []string
	for _, m := range regexp.MustCompile("`(balas_[a-z_]+(?:\\{[a-z_,]+\\})?)`").FindAllStringSubmatch(row, -1) {
		name, labels, ok := strings.Cut(m[1], "{")
		if ok {
			l := strings.Split(strings.TrimSuffix(labels, "}"), ",")
			sort.Strings(l)
			name += "{" + strings.Join(l, ",") + "}"
		}
		doc = append(doc, name)
	}
	sort.Strings(code)
	sort.Strings(doc)
	for _, n := range code {
		if !slices.Contains(doc, n) {
			t.Errorf("metric %s is not in the README's /metrics row", n)
		}
	}
	for _, n := range doc {
		if !slices.Contains(code, n) {
			t.Errorf("the README's /metrics row has %s, which balas does not export", n)
		}
	}
}

// Every command is in the README, and the settings defaults and message
// types it gives are the loader's.
func TestReadmeCommandsAndLanguage(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !bytes.Contains(readme, []byte("`balas "+c.name)) {
			t.Errorf("balas %s is not in the README", c.name)
		}
	}
	lang := readmeSection(t, "## The rules language")
	set, _, err := rules.Parse("x.yaml", []byte("version: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	st := set.Settings
	for key, def := range map[string]string{
		"session_ttl": strings.TrimSuffix(st.SessionTTL.String(), "0s"),
		"mark_read":   map[bool]string{true: "true", false: "false"}[st.MarkRead],
		"typing":      map[bool]string{true: "true", false: "false"}[st.Typing],
		"timezone":    st.Location.String(),
	} {
		if !strings.Contains(lang, "| `"+key+"` | `"+def+"` |") {
			t.Errorf("the README's settings table does not give `%s` the default %s", key, def)
		}
	}
	var typeRow string
	for _, line := range strings.Split(lang, "\n") {
		if strings.HasPrefix(line, "| `type` |") {
			typeRow = line
		}
	}
	for _, typ := range rules.MessageTypes() {
		if !strings.Contains(typeRow, "`"+typ+"`") {
			t.Errorf("message type %s is not in the README's `when.type` row", typ)
		}
	}
}
