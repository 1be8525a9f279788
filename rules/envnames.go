package rules

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// envPart is a struct that expressions see, as rules name it
// ("message.reply"), with the names of its fields.
type envPart struct {
	name   string
	fields []string
}

// envParts maps the Go type of each struct of Env ("rules.ReplyEnv") to how
// rules name it, and envNames lists the names expressions start from.
var envParts, envNames = func() (map[string]envPart, []string) {
	parts := map[string]envPart{}
	pkg := reflect.TypeFor[Env]().PkgPath()
	var walk func(t reflect.Type, name string) []string
	walk = func(t reflect.Type, name string) []string {
		var fields []string
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("expr")
			fields = append(fields, tag)
			if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == pkg {
				path := tag
				if name != "" {
					path = name + "." + tag
				}
				parts[f.Type.String()] = envPart{name: path, fields: walk(f.Type, path)}
			}
		}
		return fields
	}
	return parts, walk(reflect.TypeFor[Env](), "")
}()

var (
	noMemberRe    = regexp.MustCompile(`^type (\S+) has no (field|method) (\S+)$`)
	unknownNameRe = regexp.MustCompile(`^unknown name (\S+)$`)
)

// explainNames rewords the expression compiler's messages about a name
// or field that does not exist in the names rule authors write (`message`,
// not rules.MessageEnv), with the name they probably meant.
func explainNames(msg string) string {
	if m := noMemberRe.FindStringSubmatch(msg); m != nil {
		part, ok := envParts[m[1]]
		if !ok {
			return msg
		}
		return fmt.Sprintf("`%s` has no %s `%s`; %s", part.name, m[2], m[3], meant(m[3], part.fields, "its fields are"))
	}
	if m := unknownNameRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown name `%s`; %s", m[1], meant(m[1], envNames, "the names are"))
	}
	return msg
}

// meant suggests the candidate s is a slip of, or lists them all. Names
// are short, so two edits make a slip only in a longer name or as two
// swapped letters (txet, not hari for vars).
func meant(s string, candidates []string, list string) string {
	if c := suggest(s, candidates); c != "" && (editDistance(s, c) == 1 || utf8.RuneCountInString(s) > 4 || sameLetters(s, c)) {
		return fmt.Sprintf("did you mean `%s`?", c)
	}
	return list + " " + strings.Join(candidates, ", ")
}

// sameLetters reports whether a and b have the same letters, in any
// order, as a slip that swaps two letters leaves them.
func sameLetters(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	slices.Sort(ra)
	slices.Sort(rb)
	return slices.Equal(ra, rb)
}
