package report

import (
	"strings"
	"testing"
)

// Planted secrets used across the redaction tests. The card numbers pass
// the Luhn check; orderNumber does not and must be kept.
const (
	plantedEmail  = "ann.lee+shop@example.com"
	plantedCard   = "4111111111111111"
	plantedAmex   = "378282246310005"
	plantedJWT    = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJlLWhlcmU"
	plantedBearer = "tok_live_9f8e7d6c5b4a"
	orderNumber   = "4111111111111112"
)

func TestScrub(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"email", "mail " + plantedEmail + " now", "mail " + RedactedEmail + " now"},
		{"url-encoded email", "to=ann%40example.com&x=1", "to=" + RedactedEmail + "&x=1"},
		{"card", "card " + plantedCard + ".", "card " + RedactedCard + "."},
		{"card with spaces", "4111 1111 1111 1111 end", RedactedCard + " end"},
		{"card with dashes", "[5500-0000-0000-0004]", "[" + RedactedCard + "]"},
		{"amex 15 digits", plantedAmex, RedactedCard},
		{"card glued to letters", "id" + plantedCard + "x", "id" + RedactedCard + "x"},
		{"card after another number", "qty 12 4111 1111 1111 1111", "qty 12 " + RedactedCard},
		{"luhn-invalid order number kept", "order " + orderNumber, "order " + orderNumber},
		{"short number kept", "id 4111111111", "id 4111111111"},
		{"20 digits kept", "01234567890123456789", "01234567890123456789"},
		{"jwt", "t=" + plantedJWT + ";", "t=" + RedactedJWT + ";"},
		{"unsigned jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", RedactedJWT},
		{"bearer", "Authorization: Bearer " + plantedBearer, "Authorization: Bearer " + Redacted},
		{"bearer lower case", "bearer\t" + plantedBearer, "bearer\t" + Redacted},
		{"bearer prose kept", "Bearer tokens expire", "Bearer tokens expire"},
		{"basic", "Basic dXNlcjpodW50ZXIy", "Basic " + Redacted},
		{"basic prose kept", "Basic information", "Basic information"},
		{"nothing", "plain text, 12 apples", "plain text, 12 apples"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scrub(tt.in); got != tt.want {
				t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestScrubText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"assignment", "password=hunter2&user=ann", "password=[redacted]&user=ann"},
		{"colon", "api_key: k-123 next", "api_key: [redacted] next"},
		{"json-like", `{"client_secret": "s\"x", "id": 1}`, `{"client_secret": [redacted], "id": 1}`},
		{"single quotes", "token='abc def'", "token=[redacted]"},
		{"unclosed quote at the end", `"token": "abc`, `"token": [redacted]`},
		{"camel case name", "newPassword = p4ss", "newPassword = [redacted]"},
		{"not a secret name", "username=ann", "username=ann"},
		{"authorization scheme and credential", "Authorization: Token abc123 next", "Authorization: [redacted] next"},
		{"query string", "/cb?code=1&access_token=zz&x=2", "/cb?code=1&access_token=[redacted]&x=2"},
		{"patterns too", "login ann@example.org pwd=x", "login " + RedactedEmail + " pwd=[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scrubText(tt.in); got != tt.want {
				t.Errorf("scrubText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSecretName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"password", true}, {"Passwd", true}, {"user_pwd", true}, {"client-secret", true},
		{"accessToken", true}, {"X-Csrf-Token", true}, {"api.key", true}, {"API_KEY", true},
		{"access_key", true}, {"private_key", true}, {"Authorization", true}, {"xsrf", true},
		{"passphrase", true}, {"csrfmiddlewaretoken", true},
		{"username", false}, {"email", false}, {"key", false}, {"", false}, {"author", false},
		{"Content-Type", false}, {"monkey", false},
		{"pw", true}, {"PIN", true}, {"cvv", true}, {"pass", true}, {"passenger", false}, {"pinned", false}, {"shipping", false},
	}
	for _, tt := range tests {
		if got := secretName(tt.name); got != tt.want {
			t.Errorf("secretName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{plantedCard, true}, {plantedAmex, true}, {"5500 0000 0000 0004", true},
		{orderNumber, false}, {"1234567812345678", false}, {"79927398713", true},
	}
	for _, tt := range tests {
		if got := luhn(tt.in); got != tt.want {
			t.Errorf("luhn(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// BenchmarkScrubText scrubs a 64 KB text body holding a few secrets
// among ordinary lines with numbers, the way a log or text page looks.
func BenchmarkScrubText(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 64<<10; i++ {
		switch i % 50 {
		case 0:
			sb.WriteString("user " + plantedEmail + " paid with " + plantedCard + "\n")
		case 25:
			sb.WriteString("Authorization: Bearer " + plantedBearer + " token=abc\n")
		default:
			sb.WriteString("2026-01-02 10:11:12 order 4111111111111112 shipped 3 items to depot 17, status ok\n")
		}
	}
	body := sb.String()[:64<<10]
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		scrubText(body)
	}
}
