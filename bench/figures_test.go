package bench

import "testing"

// Median takes each figure's median over the rounds, and the lowest and
// highest throughputs, adds up the errors and keeps the highest RSS.
func TestMedian(t *testing.T) {
	round := func(rps, replies, base float64, errors int, rss float64) Figures {
		return Figures{Rounds: 1, Messages: 1000, Errors: errors, WebhookRPS: rps, RepliesPerSec: replies,
			Baseline: true, BaselineRPS: base, Ratio: rps / base, PeakRSSMB: rss}
	}
	m := Median([]Figures{round(9000, 8900, 60000, 0, 60), round(11000, 10900, 80000, 2, 70), round(10000, 9900, 50000, 1, 65)})
	if m.Rounds != 3 || m.WebhookRPS != 10000 || m.RepliesPerSec != 9900 || m.BaselineRPS != 60000 {
		t.Errorf("medians: %d rounds, %.1f req/s, %.1f replies/s, baseline %.1f; want 3, 10000, 9900, 60000", m.Rounds, m.WebhookRPS, m.RepliesPerSec, m.BaselineRPS)
	}
	// ratios 0.15, 0.1375, 0.2: the median ratio is not the ratio of the medians
	if m.Ratio != 0.15 || m.Lowest[3] != 0.1375 || m.Highest[3] != 0.2 {
		t.Errorf("ratio %.4f (%.4f–%.4f), want 0.15 (0.1375–0.2)", m.Ratio, m.Lowest[3], m.Highest[3])
	}
	if m.Lowest[1] != 8900 || m.Highest[1] != 10900 || m.Errors != 3 || m.PeakRSSMB != 70 {
		t.Errorf("replies/s %.1f–%.1f, errors %d, RSS %.1f MB; want 8900–10900, 3, 70", m.Lowest[1], m.Highest[1], m.Errors, m.PeakRSSMB)
	}
	if even := Median([]Figures{round(9000, 9000, 60000, 0, 1), round(10000, 10000, 60000, 0, 1)}); even.WebhookRPS != 9500 {
		t.Errorf("median of two rounds %.1f, want their mean 9500", even.WebhookRPS)
	}
}
