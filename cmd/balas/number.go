package main

import (
	"fmt"
	"strings"
)

// customerNumber reads a customer's number as people write it (+62812…)
// and gives it as WhatsApp sends it in webhooks: the digits with the
// country code, no +, no leading 0.
func customerNumber(s string) (string, error) {
	n := strings.TrimPrefix(strings.TrimSpace(s), "+")
	if n == "" || strings.Trim(n, "0123456789") != "" {
		return "", fmt.Errorf("%q is not a phone number: give its digits with the country code, e.g. 6281234567890", s)
	}
	if local, ok := strings.CutPrefix(n, "0"); ok {
		return "", fmt.Errorf("%q: WhatsApp writes numbers as digits with the country code, never a leading 0: give 62%s for an Indonesian %s", s, local, n)
	}
	return n, nil
}
