package cognitotest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Pagination tokens are opaque to clients: a position plus the request they
// belong to, signed so that a token cannot be forged or moved to another
// request. Reusing a ListUsers token with another filter is rejected as real
// Cognito rejects it ("Paging Marker is Invalid for Request"); a position is a
// key (sequence number or name), not an offset, so tokens stay valid while
// users are added or deleted.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html#CognitoUserPools-ListUsers-request-PaginationToken

func (s *Service) mac(kind, binding, pos string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(kind + "\x00" + binding + "\x00" + pos))
	return m.Sum(nil)[:12]
}

// sealToken returns the token for continuing after pos.
func (s *Service) sealToken(kind, binding, pos string) string {
	raw := append([]byte(pos+"\x00"), s.mac(kind, binding, pos)...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// openToken returns the position in tok, "" for an empty token, or
// InvalidParameterException when tok was not issued for this request.
func (s *Service) openToken(tok, kind, binding string) (string, *apiError) {
	if tok == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", errInvalidParameter("Paging Marker is Invalid for Request")
	}
	i := strings.IndexByte(string(raw), 0)
	if i < 0 {
		return "", errInvalidParameter("Paging Marker is Invalid for Request")
	}
	pos, sig := string(raw[:i]), raw[i+1:]
	if !hmac.Equal(sig, s.mac(kind, binding, pos)) {
		return "", errInvalidParameter("Paging Marker is Invalid for Request")
	}
	return pos, nil
}
