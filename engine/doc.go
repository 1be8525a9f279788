// Package engine decides what the bot answers: an inbound customer message,
// the conversation it belongs to and a compiled rule set go in; the rule that
// answers, the rendered replies and the conversation after the message come
// out (Bot.Decide). Deciding is pure: no I/O, no clock, no globals, so the
// same Bot serves every conversation concurrently and the conversation tests
// (package convtest), `balas chat` and `balas explain` run exactly the logic
// that the server runs.
//
// # Choosing a rule
//
// Rules are tried in the set's order; the first rule that is not a fallback
// and whose every `when` condition holds answers. Only when none does are the
// fallbacks tried, in order. Before matching, a conversation idle for at least
// settings.session_ttl loses its state and session (Decision.Expired); a
// conversation in handoff gets no rule at all (Decision.InHandoff).
//
// To keep the cost of a message independent of the number of rules, New
// builds an inverted index: every rule is filed under the one condition that
// is cheapest to look up and that it cannot match without (the normalised
// first word of each keyword, the exact texts, literal button and list ids,
// states, message types). A message collects the rules filed under its own
// words, ids, state and type, adds the rules the index cannot exclude (only
// regex, from or expr conditions, glob ids, no condition), and checks those
// candidates in rule order.
//
// # What a rule does
//
// The actions of the winning rule apply in this order: `reset` clears state
// and session; `set` stores its values (their templates see the conversation
// as it was when the message arrived, before the reset); `goto` moves the
// state; `handoff` starts a handoff from now. The replies are rendered last,
// so their templates see the session and state after the rule's actions, and
// `match` holds the named groups of the rule's regex. Every rendered reply is
// passed through rules.Fit; a reply whose templates fail is dropped and noted
// in Decision.Notes, the rule still answers.
package engine
