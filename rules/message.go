package rules

// Message is one compiled reply message: every string is a Template.
type Message struct {
	Pos   Pos
	kind  string
	quote bool

	text       *Template // text body, interactive body, caption of media
	previewURL bool
	header     *Template
	footer     *Template

	buttons    []tButton
	listButton *Template
	sections   []tSection

	link, mediaID, filename *Template // media

	displayText, url *Template // cta_url

	emoji *Template // react

	tmplName, tmplLang *Template
	components         any // YAML tree with *Template in place of strings
}

type tButton struct{ id, title *Template }

type tSection struct {
	title *Template
	rows  []tRow
}

type tRow struct{ id, title, description *Template }

// Kind is the message kind (text, buttons, list, …).
func (m *Message) Kind() string { return m.kind }

// Quote reports whether the message is sent as a reply to the customer's message.
func (m *Message) Quote() bool { return m.quote }

// renderer renders templates and keeps the first error.
type renderer struct {
	env *Env
	err error
}

func (r *renderer) s(t *Template) string {
	if t == nil || r.err != nil {
		return ""
	}
	out, err := t.Render(r.env)
	if err != nil {
		r.err = err
	}
	return out
}

// Render fills the message's templates. It does not check WhatsApp's
// limits; see Fit.
func (m *Message) Render(env *Env) (Reply, error) {
	r := &renderer{env: env}
	out := Reply{Kind: m.kind, Quote: m.quote}
	switch m.kind {
	case "text":
		out.Text = r.s(m.text)
		out.PreviewURL = m.previewURL
	case "buttons":
		out.Text, out.Header, out.Footer = r.s(m.text), r.s(m.header), r.s(m.footer)
		out.Buttons = make([]Button, len(m.buttons))
		for i, b := range m.buttons {
			out.Buttons[i] = Button{ID: r.s(b.id), Title: r.s(b.title)}
		}
	case "list":
		out.Text, out.Header, out.Footer = r.s(m.text), r.s(m.header), r.s(m.footer)
		out.ListButton = r.s(m.listButton)
		out.Sections = make([]Section, len(m.sections))
		for i, s := range m.sections {
			sec := Section{Title: r.s(s.title), Rows: make([]Row, len(s.rows))}
			for j, row := range s.rows {
				sec.Rows[j] = Row{ID: r.s(row.id), Title: r.s(row.title), Description: r.s(row.description)}
			}
			out.Sections[i] = sec
		}
	case "image", "video", "audio", "document", "sticker":
		caption := r.s(m.text)
		out.Text = caption
		out.Media = &Media{Link: r.s(m.link), ID: r.s(m.mediaID), Caption: caption, Filename: r.s(m.filename)}
	case "cta_url":
		out.Text, out.Header, out.Footer = r.s(m.text), r.s(m.header), r.s(m.footer)
		out.CTA = &CTA{DisplayText: r.s(m.displayText), URL: r.s(m.url)}
	case "location_request":
		out.Text = r.s(m.text)
	case "react":
		out.Emoji = r.s(m.emoji)
	case "template":
		tm := &TemplateMessage{Name: r.s(m.tmplName), Language: r.s(m.tmplLang)}
		if m.components != nil {
			if list, ok := renderAny(r, m.components).([]any); ok {
				tm.Components = list
			}
		}
		out.Template = tm
	}
	if r.err != nil {
		return Reply{}, r.err
	}
	return out, nil
}

// renderAny copies a components tree, rendering its templates.
func renderAny(r *renderer, v any) any {
	switch v := v.(type) {
	case *Template:
		return r.s(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = renderAny(r, x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = renderAny(r, x)
		}
		return out
	}
	return v
}
