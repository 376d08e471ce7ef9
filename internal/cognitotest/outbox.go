package cognitotest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
)

// The outbox is FAKE-ONLY: Cognito has no such endpoint. Cognito delivers
// forgot-password codes and welcome messages by email or SMS; the fake
// instead records them so tests and demos can read a code and go on
// (docs/cognito-facts.md §21). GET /_fake/outbox answers the list as JSON.

// OutboxPath is where the fake serves its outbox.
const OutboxPath = "/_fake/outbox"

// OutboxMessage is one message the fake would have sent. To is the masked
// destination, as CodeDeliveryDetails.Destination shows it.
type OutboxMessage struct {
	Pool     string `json:"pool"`
	Username string `json:"username"`
	Kind     string `json:"kind"` // "forgot-password" | "welcome"
	Code     string `json:"code,omitempty"`
	To       string `json:"to"`
}

// send records m and counts it in MessagesSent. Caller holds s.mu.
func (s *Service) send(m OutboxMessage) {
	s.outbox = append(s.outbox, m)
	s.messages.Add(1)
}

// Outbox returns the messages recorded so far, oldest first.
func (s *Service) Outbox() []OutboxMessage {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]OutboxMessage(nil), s.outbox...)
}

func (s *Service) serveOutbox(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	out := s.Outbox()
	if out == nil {
		out = []OutboxMessage{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// newCode is a six-digit verification code, as Cognito's messages carry.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// maskPhone shows the last four digits, as CodeDeliveryDetails does
// (+*******1234).
func maskPhone(v string) string {
	if len(v) <= 4 {
		return "***"
	}
	return "+*******" + v[len(v)-4:]
}
