package cognitotest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Passwords (docs/cognito-facts.md §21).
//
// The fake keeps a salted SHA-256 of each password, never the plaintext: a
// fake needs no slow hash (golang.org/x/crypto is only an indirect
// dependency), but a per-password random salt keeps two users with one
// password from sharing a hash. The fake never logs a password.

type pwHash struct {
	salt [16]byte
	sum  [32]byte
}

func hashPassword(pw string, salt [16]byte) [32]byte {
	h := sha256.New()
	h.Write(salt[:])
	h.Write([]byte(pw))
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// setPassword stores a new salted hash of pw for u.
func (u *user) setPassword(pw string) {
	var salt [16]byte
	_, _ = rand.Read(salt[:])
	u.pw = &pwHash{salt: salt, sum: hashPassword(pw, salt)}
	u.hasPassword = true
}

// passwordIs reports whether pw is u's password. Users loaded without one
// (Populate, import jobs) match nothing.
func (u *user) passwordIs(pw string) bool {
	if u.pw == nil {
		return false
	}
	sum := hashPassword(pw, u.pw.salt)
	return subtle.ConstantTimeCompare(sum[:], u.pw.sum[:]) == 1
}

// passwordPolicy is Policies.PasswordPolicy of CreateUserPool.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_PasswordPolicyType.html
type passwordPolicy struct {
	MinimumLength                                                      int
	RequireUppercase, RequireLowercase, RequireNumbers, RequireSymbols bool
}

// defaultPolicy is what a pool created without Policies gets: at least 8
// characters with upper and lower case letters, a number and a symbol.
// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-passwords.html
var defaultPolicy = passwordPolicy{8, true, true, true, true}

// policy is the pool's password policy. Caller holds s.mu.
func (p *pool) policy() passwordPolicy {
	var pol struct{ PasswordPolicy *passwordPolicy }
	if p == nil || json.Unmarshal(p.config["Policies"], &pol) != nil || pol.PasswordPolicy == nil {
		return defaultPolicy
	}
	out := *pol.PasswordPolicy
	if out.MinimumLength == 0 {
		out.MinimumLength = defaultPolicy.MinimumLength
	}
	return out
}

// checkPassword applies the pool's password policy. Refusals are
// InvalidPasswordException "Password did not conform with policy: ...", the
// error AdminCreateUser, AdminSetUserPassword, SignUp and
// ConfirmForgotPassword declare (API reference, "Errors"). Caller holds s.mu.
func (p *pool) checkPassword(pw string) *apiError {
	return checkPasswordPolicy(pw, p.policy())
}

func checkPasswordPolicy(pw string, pol passwordPolicy) *apiError {
	var up, lo, num, sym bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			up = true
		case unicode.IsLower(r):
			lo = true
		case unicode.IsDigit(r):
			num = true
		case strings.ContainsRune("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ", r):
			sym = true
		}
	}
	bad := func(why string) *apiError {
		return newErr("InvalidPasswordException", "Password did not conform with policy: %s", why)
	}
	switch {
	case utf8.RuneCountInString(pw) < pol.MinimumLength:
		return bad("Password not long enough")
	case pol.RequireUppercase && !up:
		return bad("Password must have uppercase characters")
	case pol.RequireLowercase && !lo:
		return bad("Password must have lowercase characters")
	case pol.RequireNumbers && !num:
		return bad("Password must have numeric characters")
	case pol.RequireSymbols && !sym:
		return bad("Password must have symbol characters")
	}
	return nil
}
