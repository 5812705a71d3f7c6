package scanners

import (
	"regexp"
	"testing"
)

// TestLiteralsMissNoMatch: a file goes to a pattern's regex only near one
// of its literals, which are matched as they are written, so a pattern
// whose regex folds case needs a literal for each spelling a user writes.
// Every sample here is matched by its pattern's regex alone; the matcher
// must find it too.
func TestLiteralsMissNoMatch(t *testing.T) {
	samples := map[string][]string{
		"miner-config": {`{"algo": "KawPow"}`, `{"algo": "kawpow"}`, `--algo=ETHASH`, `--algo Ethash`, `--algo GhostRider`,
			`{"algorithm": "kHeavyHash"}`, `{"algo": "Autolykos2"}`, `{"algo": "AstroBWT"}`, `{"algo": "Argon2/chukwa"}`,
			`{"coin": "XMR"}`, `--coin=monero`, `{"algo": "rx/0"}`, `{"algo": "CryptoNight"}`},
	}
	m, err := NewMatcher(DefaultPatterns(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, p := range DefaultPatterns() {
		re := regexp.MustCompile(p.Regex)
		for _, s := range samples[p.ID] {
			found++
			if !re.MatchString(s) {
				t.Fatalf("%s: the sample %q is not matched by the regex itself", p.ID, s)
			}
			ok := false
			for _, c := range m.Match("sample", []byte(s)) {
				ok = ok || c.PatternID == p.ID
			}
			if !ok {
				t.Errorf("%s: the regex matches %q but the matcher does not (no literal in it)", p.ID, s)
			}
		}
	}
	if found != len(samples["miner-config"]) {
		t.Fatalf("tried %d samples, want %d: a pattern id changed", found, len(samples["miner-config"]))
	}
}
