// Package rules is the YAML rules language of balas: it loads a rules file or
// folder, validates it against the language and WhatsApp's limits (reporting
// every problem as `file:line:col: message`), compiles every `when.expr` and
// `{{ … }}` template with expr-lang, and watches the files to reload them.
//
// Load returns an immutable Set that the engine evaluates; Watcher keeps the
// last good Set while edits are broken; Schema returns the JSON Schema of the
// language; Fit shortens rendered replies to WhatsApp's limits.
//
//	w := rules.NewWatcher("rules", rules.WatcherOptions{Logger: log})
//	var current atomic.Pointer[rules.Set]
//	err := w.Run(ctx, func(s *rules.Set) { current.Store(s) })
package rules
