package outbound

import (
	"context"
	"strings"
	"testing"
)

// A Graph API base URL may carry credentials (a gateway's user and
// password): a failed call's error, which is logged and stored in the
// outbox, never shows the password.
func TestSendErrorHidesThePasswordOfTheGraphURL(t *testing.T) {
	c := NewClient(ClientOptions{BaseURL: "http://balas:gateway-pw-7c1d@127.0.0.1:1", AccessToken: "tok"})
	_, err := c.Send(context.Background(), "106540352242922", []byte(`{}`))
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	if strings.Contains(err.Error(), "gateway-pw-7c1d") {
		t.Fatalf("error %q shows the password", err)
	}
}
