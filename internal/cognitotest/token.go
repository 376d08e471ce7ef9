package cognitotest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Pagination tokens are opaque to clients: a position plus the request they
// belong to, signed so that a token cannot be forged or moved to another
// request. Reusing a ListUsers token with another filter is rejected as real
// Cognito rejects it ("Paging Marker is Invalid for Request"); a position is a
// key (sequence number or name), not an offset, so tokens stay valid while
// users are added or deleted.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html#CognitoUserPools-ListUsers-request-PaginationToken
//
// A token also carries when it was issued: a real ListUsers token decodes
// to JSON with a "previousRequestTime" (aws/aws-sdk-js#3705, where such a
// token was refused as "Paging marker … is invalid for request"), so the
// service can tell its age. How long one lives is not published (facts
// §23, UNCONFIRMED): Options.TokenLifetime sets it, default forever, and
// an expired token is refused as any invalid marker is.

func (s *Service) mac(kind, binding, pos, issued string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(kind + "\x00" + binding + "\x00" + pos + "\x00" + issued))
	return m.Sum(nil)[:12]
}

// sealToken returns the token for continuing after pos.
func (s *Service) sealToken(kind, binding, pos string) string {
	issued := strconv.FormatInt(s.opts.Now().UnixNano(), 10)
	raw := append([]byte(pos+"\x00"+issued+"\x00"), s.mac(kind, binding, pos, issued)...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// openToken returns the position in tok, "" for an empty token, or
// InvalidParameterException when tok was not issued for this request or
// has outlived Options.TokenLifetime.
func (s *Service) openToken(tok, kind, binding string) (string, *apiError) {
	if tok == "" {
		return "", nil
	}
	invalid := errInvalidParameter("Paging Marker is Invalid for Request")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", invalid
	}
	pos, rest, ok1 := strings.Cut(string(raw), "\x00")
	issued, sig, ok2 := strings.Cut(rest, "\x00")
	if !ok1 || !ok2 || !hmac.Equal([]byte(sig), s.mac(kind, binding, pos, issued)) {
		return "", invalid
	}
	if s.opts.TokenLifetime > 0 {
		ns, err := strconv.ParseInt(issued, 10, 64)
		if err != nil || s.opts.Now().Sub(time.Unix(0, ns)) > s.opts.TokenLifetime {
			return "", invalid
		}
	}
	return pos, nil
}
