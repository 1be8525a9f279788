package engine

import "github.com/balas-bot/balas/rules"

// fitReply shortens the fields of r that break WhatsApp's limits.
func fitReply(r *rules.Reply) []string { return rules.Fit(r) }
