package outbound

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
)

type dryRun struct {
	log *slog.Logger
	n   atomic.Int64
}

// NewDryRun is a Transport that sends nothing: it logs each payload at INFO
// and answers a fake wamid "wamid.dryrun.<n>". For --dev without an access token.
func NewDryRun(logger *slog.Logger) Transport {
	if logger == nil {
		logger = slog.Default()
	}
	return &dryRun{log: logger}
}

func (d *dryRun) Send(ctx context.Context, phoneNumberID string, body []byte) (string, error) {
	n := d.n.Add(1)
	d.log.InfoContext(ctx, "dry run: not sent (no access token)", "phone_number_id", phoneNumberID, "body", string(body))
	return "wamid.dryrun." + strconv.FormatInt(n, 10), nil
}
