package rules

// Message is one compiled reply message. (Placeholder body: the loader fills
// every kind; see Reply for the rendered form.)
type Message struct {
	Pos  Pos
	kind string
	text *Template
}

// Kind is the message kind (text, buttons, list, …).
func (m *Message) Kind() string { return m.kind }

// Render fills the message's templates.
func (m *Message) Render(env *Env) (Reply, error) {
	s, err := m.text.Render(env)
	return Reply{Kind: m.kind, Text: s}, err
}
