package rules

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// reply loads a rule's `reply`: a string, one message, or a list of those.
func (l *loader) reply(n *yaml.Node, ctx *ruleCtx) []*Message {
	n = deref(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			l.errorf(l.pos(n), "`reply` is empty: write a text, a message or a list of messages")
			return nil
		}
		if m := l.textString(n, ctx); m != nil {
			return []*Message{m}
		}
		return nil
	case yaml.MappingNode:
		if l.unquotedTemplate(n) {
			return nil
		}
		if m := l.message(n, ctx); m != nil {
			return []*Message{m}
		}
		return nil
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			l.errorf(l.pos(n), "`reply` is an empty list")
			return nil
		}
		var out []*Message
		for _, it := range n.Content {
			it = deref(it)
			var m *Message
			switch {
			case it.Kind == yaml.ScalarNode && it.Tag != "!!null":
				m = l.textString(it, ctx)
			case l.unquotedTemplate(it):
			case it.Kind == yaml.MappingNode:
				m = l.message(it, ctx)
			default:
				l.errorf(l.pos(it), "a reply message must be a string or a mapping with one kind key, got %s", describe(it))
			}
			if m != nil {
				out = append(out, m)
			}
		}
		return out
	}
	l.errorf(l.pos(n), "`reply` must be a string, a message or a list of messages, got %s", describe(n))
	return nil
}

func (l *loader) textString(n *yaml.Node, ctx *ruleCtx) *Message {
	t := l.template(n, "text", maxText, ctx)
	if t == nil || !l.nonEmpty(t, "text") {
		return nil
	}
	return &Message{Pos: l.pos(n), kind: "text", text: t}
}

// nonEmpty reports a required text that is empty or only spaces: WhatsApp
// refuses a message without its body, a button or row without a title, a
// list without its button label (and balas sends no empty text), so such
// a reply could never be sent. A template is checked only when it has no
// {{ }} (what those render to is known only at run time).
func (l *loader) nonEmpty(t *Template, label string) bool {
	if t == nil || !t.Static() || strings.TrimSpace(t.Source) != "" {
		return true
	}
	hint := ""
	if label == "text" {
		hint = " (to send nothing, leave out `reply`)"
	}
	l.errorf(t.Pos, "`%s` is empty; WhatsApp refuses a message without it%s", label, hint)
	return false
}

// tmplField compiles key of object obj in mapping m, with the table's limit.
func (l *loader) tmplField(m *mapping, obj, key string, ctx *ruleCtx) *Template {
	v := m.get(key)
	if v == nil {
		return nil
	}
	f, _ := fieldOf(obj, key)
	t := l.template(v, key, f.max, ctx)
	// Ids have their own check, naming the id; a url must be an http(s) URL.
	if f.required && f.kind == kTemplate && key != "id" && key != "url" {
		l.nonEmpty(t, key)
	}
	return t
}

// items checks a list of obj's key against the table's item limits.
func (l *loader) items(m *mapping, obj, key string) ([]*yaml.Node, bool) {
	v := m.get(key)
	if v == nil {
		return nil, true
	}
	f, _ := fieldOf(obj, key)
	if v.Kind != yaml.SequenceNode {
		l.errorf(l.pos(v), "`%s` must be a list, got %s", key, describe(v))
		return nil, false
	}
	ok := true
	if len(v.Content) < f.min {
		l.errorf(l.pos(v), "`%s` needs at least %d item", key, f.min)
		ok = false
	}
	out := make([]*yaml.Node, 0, len(v.Content))
	for i, it := range v.Content {
		if f.max > 0 && i == f.max {
			l.errorf(l.pos(deref(it)), "`%s` has %d items; WhatsApp allows at most %d", key, len(v.Content), f.max)
			return out, false // the rest would only repeat errors
		}
		out = append(out, deref(it))
	}
	return out, ok
}

func (l *loader) message(n *yaml.Node, ctx *ruleCtx) *Message {
	m := l.mapping(n, "message")
	if m == nil {
		return nil
	}
	var kinds []string
	for _, k := range messageKinds {
		if m.has(k) {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		if len(m.vals) > 0 || isNull(n) || len(n.Content) == 0 {
			l.errorf(l.pos(n), "a message needs one kind key: %s", strings.Join(messageKinds, ", "))
		}
		return nil
	case 1:
	default:
		second := m.keys[kinds[1]]
		if m.keys[kinds[0]].Line > second.Line || (m.keys[kinds[0]].Line == second.Line && m.keys[kinds[0]].Column > second.Column) {
			second = m.keys[kinds[0]]
		}
		l.errorf(l.pos(second), "a message has one kind, but `%s` and `%s` are both given (use a list of messages to send several)", kinds[0], kinds[1])
		return nil
	}
	kind := kinds[0]
	msg := &Message{Pos: l.pos(n), kind: kind}
	if v := m.get("quote"); v != nil {
		msg.quote, _ = l.boolean(v, "quote")
		if kind == "react" {
			msg.quote = false // a reaction is on the customer's message already
		}
	}
	v := m.get(kind)
	errs := len(l.diags)
	switch kind {
	case "text":
		text, o, ok := l.bodyOrMapping(v, "text", maxText, ctx)
		if !ok {
			return nil
		}
		msg.text = text
		if o != nil {
			if pv := o.get("preview_url"); pv != nil {
				msg.previewURL, _ = l.boolean(pv, "preview_url")
			}
		}
	case "location_request":
		text, _, ok := l.bodyOrMapping(v, "location_request", maxBody, ctx)
		if !ok {
			return nil
		}
		msg.text = text
	case "react":
		msg.emoji = l.template(v, "react", 0, ctx)
		if msg.emoji != nil && msg.emoji.Static() && strings.TrimSpace(msg.emoji.Source) == "" {
			l.errorf(l.pos(v), "`react` needs an emoji")
		}
	case "buttons":
		l.buttonsMsg(v, msg, ctx)
	case "list":
		l.listMsg(v, msg, ctx)
	case "image", "video", "audio", "document", "sticker":
		o := l.mapping(v, kind)
		if o == nil {
			return nil
		}
		switch {
		case o.has("link") && o.has("id"):
			l.errorf(l.pos(o.keys["id"]), "`%s` takes `link` or `id`, not both", kind)
		case !o.has("link") && !o.has("id"):
			l.errorf(l.pos(o.node), "`%s` needs `link` (a public URL) or `id` (an uploaded media id)", kind)
		}
		msg.link = l.tmplField(o, kind, "link", ctx)
		if msg.link != nil && msg.link.Static() && !isHTTPURL(msg.link.Source) {
			l.errorf(l.pos(o.get("link")), "`link` must be an http:// or https:// URL")
		}
		msg.mediaID = l.tmplField(o, kind, "id", ctx)
		if msg.mediaID != nil && msg.mediaID.Static() && strings.TrimSpace(msg.mediaID.Source) == "" {
			l.errorf(l.pos(o.get("id")), "`id` is empty; give the id of the uploaded media, or a `link`")
		}
		msg.text = l.tmplField(o, kind, "caption", ctx)
		msg.filename = l.tmplField(o, kind, "filename", ctx)
	case "cta_url":
		o := l.mapping(v, "cta_url")
		if o == nil {
			return nil
		}
		msg.text = l.tmplField(o, "cta_url", "body", ctx)
		msg.header = l.tmplField(o, "cta_url", "header", ctx)
		msg.footer = l.tmplField(o, "cta_url", "footer", ctx)
		msg.displayText = l.tmplField(o, "cta_url", "display_text", ctx)
		msg.url = l.tmplField(o, "cta_url", "url", ctx)
		if msg.url != nil && msg.url.Static() && !isHTTPURL(msg.url.Source) {
			l.errorf(l.pos(o.get("url")), "`url` must be an http:// or https:// URL")
		}
	case "template":
		o := l.mapping(v, "template")
		if o == nil {
			return nil
		}
		msg.tmplName = l.tmplField(o, "template", "name", ctx)
		msg.tmplLang = l.tmplField(o, "template", "language", ctx)
		if c := o.get("components"); c != nil && !isNull(c) {
			if c.Kind != yaml.SequenceNode {
				l.errorf(l.pos(c), "`components` must be a list, got %s", describe(c))
			} else {
				budget := 10000
				msg.components = l.anyTree(c, ctx, 0, &budget)
			}
		}
	}
	if len(l.diags) > errs {
		return nil
	}
	return msg
}

func (l *loader) buttonsMsg(v *yaml.Node, msg *Message, ctx *ruleCtx) {
	o := l.mapping(v, "buttons")
	if o == nil {
		return
	}
	msg.text = l.tmplField(o, "buttons", "body", ctx)
	msg.header = l.tmplField(o, "buttons", "header", ctx)
	msg.footer = l.tmplField(o, "buttons", "footer", ctx)
	items, _ := l.items(o, "buttons", "buttons")
	ids, titles := map[string]int{}, map[string]int{}
	for _, it := range items {
		b := l.mapping(it, "button")
		if b == nil {
			continue
		}
		id := l.tmplField(b, "button", "id", ctx)
		title := l.tmplField(b, "button", "title", ctx)
		if id != nil && id.Static() {
			if first, dup := ids[id.Source]; dup {
				l.errorf(id.Pos, "button id `%s` is used twice in this message (first at line %d)", id.Source, first)
			} else {
				ids[id.Source] = id.Pos.Line
				ctx.info.buttons = append(ctx.info.buttons, idAt{id.Source, id.Pos})
			}
			if id.Source == "" {
				l.errorf(id.Pos, "button `id` is empty")
			}
		}
		if title != nil && title.Static() {
			if first, dup := titles[title.Source]; dup {
				l.errorf(title.Pos, "button title `%s` is used twice in this message (first at line %d); WhatsApp needs unique titles", title.Source, first)
			} else {
				titles[title.Source] = title.Pos.Line
			}
		}
		if id != nil && title != nil {
			msg.buttons = append(msg.buttons, tButton{id: id, title: title})
		}
	}
}

func (l *loader) listMsg(v *yaml.Node, msg *Message, ctx *ruleCtx) {
	o := l.mapping(v, "list")
	if o == nil {
		return
	}
	msg.text = l.tmplField(o, "list", "body", ctx)
	msg.header = l.tmplField(o, "list", "header", ctx)
	msg.footer = l.tmplField(o, "list", "footer", ctx)
	msg.listButton = l.tmplField(o, "list", "button", ctx)
	sections, _ := l.items(o, "list", "sections")
	ids := map[string]int{}
	total, reported := 0, false
	for _, sn := range sections {
		s := l.mapping(sn, "section")
		if s == nil {
			continue
		}
		sec := tSection{title: l.tmplField(s, "section", "title", ctx)}
		if len(sections) > 1 && !s.has("title") {
			l.errorf(l.pos(sn), "with more than one section, each section needs a `title`")
		}
		rows, ok := l.items(s, "section", "rows")
		if !ok {
			reported = true
		}
		for _, rn := range rows {
			total++
			if total == maxRows+1 && !reported {
				l.errorf(l.pos(rn), "a list has at most %d rows in all its sections; this is row %d", maxRows, total)
				reported = true
			}
			r := l.mapping(rn, "row")
			if r == nil {
				continue
			}
			row := tRow{
				id:          l.tmplField(r, "row", "id", ctx),
				title:       l.tmplField(r, "row", "title", ctx),
				description: l.tmplField(r, "row", "description", ctx),
			}
			if row.id != nil && row.id.Static() {
				if first, dup := ids[row.id.Source]; dup {
					l.errorf(row.id.Pos, "row id `%s` is used twice in this list (first at line %d)", row.id.Source, first)
				} else {
					ids[row.id.Source] = row.id.Pos.Line
					ctx.info.rows = append(ctx.info.rows, idAt{row.id.Source, row.id.Pos})
				}
				if row.id.Source == "" {
					l.errorf(row.id.Pos, "row `id` is empty")
				}
			}
			if row.id != nil && row.title != nil {
				sec.rows = append(sec.rows, row)
			}
		}
		msg.sections = append(msg.sections, sec)
	}
}

// anyTree converts template components, compiling every string.
func (l *loader) anyTree(n *yaml.Node, ctx *ruleCtx, depth int, budget *int) any {
	n = deref(n)
	*budget--
	if depth > 32 || *budget < 0 {
		if *budget == -1 || depth == 33 {
			l.errorf(l.pos(n), "`components` is too large or too deeply nested")
		}
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" || n.Tag == "" {
			return l.template(n, "components", 0, ctx)
		}
		var v any
		if err := decodeValue(n, &v); err != nil {
			l.errorf(l.pos(n), "`components`: %v", err)
		}
		return v
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, it := range n.Content {
			out = append(out, l.anyTree(it, ctx, depth+1, budget))
		}
		return out
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				l.errorf(l.pos(k), "`components`: keys must be strings")
				continue
			}
			out[k.Value] = l.anyTree(n.Content[i+1], ctx, depth+1, budget)
		}
		return out
	}
	l.errorf(l.pos(n), "`components`: unexpected %s", describe(n))
	return fmt.Sprint(nil)
}

// bodyOrMapping reads a message kind written either as a plain string (its
// body) or as a mapping with a `body`; o is the mapping when there is one.
// ok is false when v is neither.
func (l *loader) bodyOrMapping(v *yaml.Node, kind string, limit int, ctx *ruleCtx) (body *Template, o *mapping, ok bool) {
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		t := l.template(v, kind, limit, ctx)
		l.nonEmpty(t, kind)
		return t, nil, true
	}
	if o = l.mapping(v, kind); o == nil {
		return nil, nil, false
	}
	return l.tmplField(o, kind, "body", ctx), o, true
}
