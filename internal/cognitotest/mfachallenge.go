package cognitotest

import "encoding/json"

// MFA after a correct password (docs/cognito-facts.md §35.2). Sources:
//   - API reference / SDK model, AdminInitiateAuth and InitiateAuth output:
//     AuthenticationResult "is only returned if the user pool has no
//     additional challenges to return. If Amazon Cognito returns another
//     challenge, the response includes ChallengeName, ChallengeParameters,
//     and Session"; challenges include SMS_MFA ("Respond with the code that
//     your user pool delivered in an SMS message, as SMS_MFA_CODE"),
//     EMAIL_OTP, SOFTWARE_TOKEN_MFA (AdminRespondToAuthChallenge:
//     SOFTWARE_TOKEN_MFA_CODE), SELECT_MFA_TYPE and MFA_SETUP ("For users who
//     are required to setup an MFA factor before they can sign in. The MFA
//     types activated for the user pool will be listed in the challenge
//     parameters MFAS_CAN_SETUP value").
//   - SetUserPoolMfaConfig, MfaConfiguration: "When ON, all users must set
//     up MFA before they can sign in. ... When MfaConfiguration is OPTIONAL
//     ... Amazon Cognito generates MFA prompts in API responses ... for users
//     who have chosen and configured a preferred MFA factor."
//   - Developer guide "Adding MFA to a user pool" (user-pool-settings-mfa):
//     MFA OFF never prompts.
//
// UNCONFIRMED, modelled the safe way for code under test (a challenge,
// never tokens): an OPTIONAL pool and a user with a factor enabled but none
// preferred (the fake challenges, with the factor, or SELECT_MFA_TYPE when
// there are several); the exact ChallengeParameters beyond USER_ID_FOR_SRP.
// The fake has no RespondToAuthChallenge: a challenge is where a fake
// sign-in ends.

// mfaChallenge is the challenge p's MFA mode asks of u after a correct
// password, or nil when tokens are due. Caller holds s.mu.
func (p *pool) mfaChallenge(u *user) map[string]any {
	mode := p.mfaMode()
	if mode == "OFF" {
		return nil
	}
	factors := u.mfaFactors()
	name := u.mfa.preferred
	switch {
	case name != "":
	case len(factors) == 1:
		name = factors[0]
	case len(factors) > 1:
		name = "SELECT_MFA_TYPE"
	case mode == "ON":
		name = "MFA_SETUP"
	default:
		return nil // OPTIONAL, no factor: the user signs in with a password only
	}
	params := map[string]string{"USER_ID_FOR_SRP": u.username}
	switch name {
	case "SELECT_MFA_TYPE":
		params["MFAS_CAN_CHOOSE"] = jsonList(factors)
	case "MFA_SETUP":
		params["MFAS_CAN_SETUP"] = jsonList([]string{"SOFTWARE_TOKEN_MFA"})
	case "SMS_MFA":
		params["CODE_DELIVERY_DELIVERY_MEDIUM"] = "SMS"
	case "EMAIL_OTP":
		params["CODE_DELIVERY_DELIVERY_MEDIUM"] = "EMAIL"
	}
	return map[string]any{"ChallengeName": name, "Session": opaque("session"), "ChallengeParameters": params}
}

// mfaFactors are the factors u has enabled, as challenge names: the names
// of its UserMFASettingList.
func (u *user) mfaFactors() []string { return u.mfaSettingList() }

func jsonList(s []string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
