package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FlexInt is an integer that decodes from a JSON number or a numeric JSON
// string ("2"); null and "" decode to 0. It encodes as a JSON number.
type FlexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	s, err := flexLiteral(b)
	if err != nil || s == "" {
		return err
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = FlexInt(v)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return fmt.Errorf("webhook: %s is not an integer", b)
	}
	*n = FlexInt(f)
	return nil
}

// FlexFloat is a number that decodes from a JSON number or a numeric JSON
// string ("350000.00"); null and "" decode to 0. It encodes as a JSON number.
type FlexFloat float64

// UnmarshalJSON implements json.Unmarshaler.
func (n *FlexFloat) UnmarshalJSON(b []byte) error {
	s, err := flexLiteral(b)
	if err != nil || s == "" {
		return err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("webhook: %s is not a number", b)
	}
	*n = FlexFloat(f)
	return nil
}

// flexLiteral returns the text of a JSON number or string literal, "" for
// null, and an error for anything else.
func flexLiteral(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return "", nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return strings.TrimSpace(s), nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		return string(b), nil
	}
	return "", fmt.Errorf("webhook: %s is neither a number nor a numeric string", b)
}
