package cognitotest

import "encoding/json"

// SignInFederated does what a user's first sign-in through an identity
// provider does: Cognito creates an EXTERNAL_PROVIDER user named
// <ProviderName>_<provider's user id>, with an identities attribute, now.
// Such users cannot be made with AdminCreateUser, so tests that need one
// created at a known time (for the listing lag) use this.
// https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-identity-federation.html
func (s *Service) SignInFederated(poolID, provider, providerUserID string) (username, sub string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, aerr := s.pool(poolID)
	if aerr != nil {
		return "", "", aerr
	}
	u, aerr := s.insertUser(p, provider+"_"+providerUserID, nil, StatusExternalProvider)
	if aerr != nil {
		return "", "", aerr
	}
	ids, _ := json.Marshal([]identity{{UserID: providerUserID, ProviderName: provider, ProviderType: provider,
		Primary: true, DateCreated: s.now().UnixMilli()}})
	u.set("identities", string(ids))
	return u.username, u.sub, nil
}
