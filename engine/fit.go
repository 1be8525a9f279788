package engine

import "github.com/balas-bot/balas/rules"

// fitReply shortens the fields of r that break WhatsApp's limits.
func fitReply(r *rules.Reply) []string { return rules.Fit(r) }

// unsendable says why r, as rendered, cannot be sent ("" when it can): its
// templates left empty what the message needs, and the sender would refuse
// to build it. Such a reply is dropped here, with an error, so that balas
// test, chat and explain show what the customer gets.
func unsendable(r *rules.Reply) string {
	switch r.Kind {
	case "text":
		if r.Text == "" {
			return "the text is empty; WhatsApp sends no empty message"
		}
	case "image", "video", "audio", "document", "sticker":
		if r.Media == nil || r.Media.Link == "" && r.Media.ID == "" {
			return "the " + r.Kind + "'s link and id are empty"
		}
	case "template":
		if r.Template == nil || r.Template.Name == "" {
			return "the template's name is empty"
		}
	}
	return ""
}
